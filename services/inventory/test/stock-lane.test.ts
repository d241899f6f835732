import { CafeError } from '@cloudcafe/kit';
import t from 'tap';
import { waitAtMost } from '../src/limiter.js';
import { type StockItems, StockLanes } from '../src/stock-lane.js';
import type { StockState } from '../src/stock-plan.js';

// The lane's batching against an in-memory compare-and-swap store (a stand-in for the SKU
// item: same contract as the DynamoDB adapter, tested against dynalite in stock-crash.integration.test.ts).

class MemoryItems implements StockItems {
  writes = 0;
  reads = 0;
  /** Makes the next write land but lose its answer (a timeout after the engine applied it). */
  loseNextAnswer = false;
  /** Milliseconds each write takes, so that concurrent callers queue behind it. */
  writeMs = 5;
  constructor(public items: Map<string, StockState>) {}

  async read(sku: string) {
    this.reads++;
    return this.items.get(sku);
  }

  async write(sku: string, expected: StockState, next: StockState) {
    this.writes++;
    await new Promise((r) => setTimeout(r, this.writeMs));
    if (this.items.get(sku)?.version !== expected.version) return false;
    this.items.set(sku, next);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new Error('socket hang up');
    }
    return true;
  }
}

const fresh = (available: number): StockState => ({
  available,
  reserved: 0,
  sold: 0,
  version: 0,
  holds: {},
  moves: {},
});

t.test(
  'a burst on one SKU costs a few writes, sells exactly the stock and says short to the rest',
  async (t) => {
    // Prepare
    const items = new MemoryItems(new Map([['GEISHA', fresh(50)]]));
    const lanes = new StockLanes(items);
    // Act: 500 buyers at once
    const outcomes = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        lanes.submit('GEISHA', { kind: 'hold', orderId: `o${i}`, q: 1, exp: Date.now() + 60_000 }),
      ),
    );
    // Assess
    const granted = outcomes.filter((o) => o.kind === 'granted').length;
    t.equal(granted, 50, 'every unit sold');
    t.equal(outcomes.filter((o) => o.kind === 'short').length, 450, 'the rest told short');
    t.match(items.items.get('GEISHA'), { available: 0, reserved: 50 });
    t.ok(items.writes <= 10, `few writes for 500 buyers (${items.writes})`);
    t.ok(
      outcomes.slice(0, 50).every((o) => o.kind === 'granted'),
      'first come, first served: the first 50 to arrive got the units',
    );
  },
);

t.test('another writer in between costs a re-read, and the plan is made again from the truth', async (t) => {
  // Prepare
  const items = new MemoryItems(new Map([['LATTE', fresh(3)]]));
  const lanes = new StockLanes(items);
  await lanes.submit('LATTE', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  // Another instance sells the last two units behind this lane's back.
  const other = items.items.get('LATTE') as StockState;
  items.items.set('LATTE', { ...other, available: 0, reserved: 3, version: other.version + 1 });
  // Act
  const outcome = await lanes.submit('LATTE', { kind: 'hold', orderId: 'b', q: 1, exp: 1e15 });
  // Assess
  t.same(outcome, { kind: 'short', available: 0 });
  t.match(items.items.get('LATTE'), { available: 0, reserved: 3 });
});

t.test('a write whose answer was lost is recognised as its own, not as another request’s hold', async (t) => {
  const items = new MemoryItems(new Map([['MOCHA', fresh(5)]]));
  const lanes = new StockLanes(items);
  items.loseNextAnswer = true;
  const outcome = await lanes.submit('MOCHA', { kind: 'hold', orderId: 'a', q: 2, exp: 1e15 });
  t.same(outcome, { kind: 'granted' });
  t.match(items.items.get('MOCHA'), { available: 3, reserved: 2 }, 'taken once');
});

t.test('new work past its budget is refused with 429 and takes nothing', async (t) => {
  // Prepare: a slow engine, one write in flight
  const items = new MemoryItems(new Map([['FLAT', fresh(100)]]));
  items.writeMs = 300;
  const lanes = new StockLanes(items);
  const first = lanes.submit('FLAT', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  // Act
  const late = await lanes
    .submit('FLAT', { kind: 'hold', orderId: 'b', q: 1, exp: 1e15 }, waitAtMost(50))
    .catch((err: unknown) => err);
  await first;
  // Assess
  t.ok(late instanceof CafeError && late.code === 'CAFE_ERR_RATE_LIMITED', '429');
  t.match(items.items.get('FLAT'), { available: 99, reserved: 1 }, 'only the first buyer holds');
});

t.test('new work that could not finish in its budget after the write is refused, not taken', async (t) => {
  // Prepare: a write in flight for 300 ms; the caller still needs 400 ms after its own write
  const items = new MemoryItems(new Map([['FLAT', fresh(100)]]));
  items.writeMs = 300;
  const lanes = new StockLanes(items, { workAfterMs: () => 400 });
  const first = lanes.submit('FLAT', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  // Act: a budget of 500 ms: at its turn (300 ms) only 200 ms would be left
  const late = await lanes
    .submit('FLAT', { kind: 'hold', orderId: 'b', q: 1, exp: 1e15 }, waitAtMost(500))
    .catch((err: unknown) => err);
  await first;
  // Assess
  t.ok(late instanceof CafeError && late.code === 'CAFE_ERR_RATE_LIMITED', '429');
  t.match(items.items.get('FLAT'), { available: 99, reserved: 1 }, 'nothing taken for it');
});

t.test('clean-ups ride along with the next write instead of costing one each', async (t) => {
  const items = new MemoryItems(new Map([['CHAI', fresh(10)]]));
  const lanes = new StockLanes(items, { lazyFlushMs: 10_000 });
  await lanes.submit('CHAI', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  const writes = items.writes;
  // Act: an unhold (lazy) and then a new buyer (urgent)
  const unhold = lanes.submit('CHAI', { kind: 'unhold', orderId: 'a' });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(items.writes, writes, 'the clean-up alone waits');
  await lanes.submit('CHAI', { kind: 'hold', orderId: 'b', q: 1, exp: 1e15 });
  // Assess
  t.same(await unhold, { kind: 'applied' });
  t.equal(items.writes, writes + 1, 'one write carried both');
  t.same(Object.keys(items.items.get('CHAI')?.holds ?? {}), ['b']);
});

t.test('a lazy clean-up alone is written after its flush delay', async (t) => {
  const items = new MemoryItems(new Map([['CHAI', fresh(10)]]));
  const lanes = new StockLanes(items, { lazyFlushMs: 20 });
  await lanes.submit('CHAI', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  t.same(await lanes.submit('CHAI', { kind: 'unhold', orderId: 'a' }), { kind: 'applied' });
  t.same(items.items.get('CHAI')?.holds, {});
});

t.test('a lane that went idle keeps what it knows: the next buyer costs a write, no read', async (t) => {
  const items = new MemoryItems(new Map([['CORTADO', fresh(10)]]));
  const lanes = new StockLanes(items);
  await lanes.submit('CORTADO', { kind: 'hold', orderId: 'a', q: 1, exp: 1e15 });
  await new Promise((r) => setTimeout(r, 20));
  await lanes.submit('CORTADO', { kind: 'hold', orderId: 'b', q: 1, exp: 1e15 });
  t.equal(items.reads, 1, 'one read for two buyers');
  t.equal(items.writes, 2);
});

t.test('an unknown SKU is a 404 for the operation', async (t) => {
  const lanes = new StockLanes(new MemoryItems(new Map()));
  const err = await lanes
    .submit('NOPE', { kind: 'hold', orderId: 'a', q: 1, exp: 1 })
    .catch((e: unknown) => e);
  t.ok(err instanceof CafeError && err.code === 'CAFE_ERR_NOT_FOUND');
});
