import t from 'tap';
import type { OrderStatus } from '../src/model.js';
import { StatusWatch } from '../src/status-watch.js';

// Unit tests of the long-poll waiters: no engine. The "database" is a map the test changes,
// read through the same one-query-for-all-waiters callback the service passes in. Timeouts
// are either far longer than the test needs (the waiter must be woken by something else) or
// the outcome under test; no assertion is about how fast anything ran.

const LONG = 60_000;

function watchOver(db: Map<string, OrderStatus>, options: { recheckMs?: number; maxWaiters?: number } = {}) {
  const queries: string[][] = [];
  const watch = new StatusWatch({
    statuses: async (ids) => {
      queries.push([...ids]);
      return new Map([...db].filter(([id]) => ids.includes(id)));
    },
    recheckMs: options.recheckMs ?? LONG,
    maxWaiters: options.maxWaiters ?? 100,
  });
  t.teardown(() => watch.close());
  return { watch, queries };
}

t.test('a notified order wakes its waiters only', async (t) => {
  const { watch } = watchOver(new Map());
  let otherWoke = false;
  const mine = watch.wait('o1', 'pending', LONG);
  void watch.wait('o2', 'pending', LONG).then(() => {
    otherWoke = true;
  });
  t.equal(watch.parked, 2);
  watch.notify(['o1']);
  await mine;
  t.equal(watch.parked, 1, 'the other order still waits');
  t.notOk(otherWoke);
});

t.test('a change made elsewhere is found by one recheck query for every waiter', async (t) => {
  const db = new Map<string, OrderStatus>([
    ['o1', 'pending'],
    ['o2', 'pending'],
  ]);
  const { watch, queries } = watchOver(db, { recheckMs: 20 });
  const woke: string[] = [];
  const waits = ['o1', 'o2', 'o2'].map((id) => watch.wait(id, 'pending', LONG).then(() => woke.push(id)));
  db.set('o2', 'confirmed');
  await Promise.all([waits[1], waits[2]]);
  t.same(woke.sort(), ['o2', 'o2'], 'both waiters of o2 woke, the waiter of o1 did not');
  t.equal(queries.length, 1, 'in one recheck');
  t.same(queries[0]?.sort(), ['o1', 'o2'], 'one query, each order id once');
  db.set('o1', 'paid');
  await waits[0];
  t.equal(watch.parked, 0);
});

t.test('an order that vanished wakes its waiter (the read then answers 404)', async (t) => {
  const { watch } = watchOver(new Map(), { recheckMs: 20 });
  await watch.wait('gone', 'pending', LONG);
  t.equal(watch.parked, 0);
});

t.test('the wait ends at its timeout, on abort and on close', async (t) => {
  const { watch } = watchOver(new Map([['o1', 'pending']]));
  await watch.wait('o1', 'pending', 10);
  t.equal(watch.parked, 0, 'timed out and removed');

  const gone = new AbortController();
  const aborted = watch.wait('o1', 'pending', LONG, gone.signal);
  gone.abort();
  await aborted;
  t.equal(watch.parked, 0, 'the client went away');
  const already = new AbortController();
  already.abort();
  await watch.wait('o1', 'pending', LONG, already.signal);

  const parked = watch.wait('o1', 'pending', LONG);
  watch.close();
  await parked;
  await watch.wait('o1', 'pending', LONG);
  t.equal(watch.parked, 0, 'closed: nobody parks any more');
});

t.test('beyond maxWaiters a read answers at once; a failing recheck keeps waiters parked', async (t) => {
  let failing = true;
  const watch = new StatusWatch({
    statuses: async () => {
      if (failing) throw new Error('connection refused');
      return new Map();
    },
    recheckMs: 10,
    maxWaiters: 1,
  });
  t.teardown(() => watch.close());
  const first = watch.wait('o1', 'pending', LONG);
  await watch.wait('o2', 'pending', LONG);
  t.equal(watch.parked, 1, 'the second read was not parked');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(watch.parked, 1, 'rechecks that failed woke nobody');
  failing = false;
  await first;
  t.equal(watch.parked, 0, 'the first recheck that answered woke it (the order is gone)');
});
