import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { TABLE_PARTITION_KEYS, TABLES } from '@cloudcafe/contracts';
import type { ServiceApp } from '@cloudcafe/kit';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadInventoryConfig } from '../src/config.js';
import { InventoryStore } from '../src/store.js';

// An instance killed at every step of the reservation saga, against a real DynamoDB engine
// (dynalite, the lab's, started here as its own process; no lab needed). A kill is modelled
// as the instance's DynamoDB client failing every call from the chosen one on, before or
// after the engine applied it, so nothing the dead instance had in memory runs again; a new
// instance then retries the step (what the order service does) or nobody does and the sweeper
// cleans up. Each case checks the SKU's counters: nothing oversold, leaked or moved twice.

const HOLD_MS = 1500;
const TAKEOVER_MS = 800;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let engine: ChildProcess | undefined;
t.before(async () => {
  const port = await freePort();
  const cli = createRequire(import.meta.url).resolve('dynalite/cli.js');
  engine = spawn(
    process.execPath,
    [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '0'],
    {
      stdio: 'ignore',
    },
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  const setup = await instance();
  for (const table of ['inventory', 'reservations'] as const) {
    for (let attempt = 0; ; attempt++) {
      try {
        await setup.app.aws.dynamodb.send(
          new CreateTableCommand({
            TableName: TABLES[table],
            AttributeDefinitions: [{ AttributeName: TABLE_PARTITION_KEYS[table], AttributeType: 'S' }],
            KeySchema: [{ AttributeName: TABLE_PARTITION_KEYS[table], KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        break;
      } catch (err) {
        if (attempt > 50) throw err; // the engine is still starting
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
});
t.teardown(() => {
  engine?.kill();
});

/** Which call kills the instance, and whether the engine applied it first. */
interface Kill {
  readonly name: string;
  readonly when: 'before' | 'after';
  readonly matches: (command: string, input: Record<string, unknown>) => boolean;
}

interface Instance {
  app: ServiceApp;
  store: InventoryStore;
}

async function instance(kill?: Kill): Promise<Instance> {
  const config = loadInventoryConfig({
    SERVICE_NAME: 'inventory',
    PORT: '3999',
    ADMIN_TOKEN: 'unit-test-admin-token-0123456789',
    LOG_LEVEL: 'silent',
    METRICS_CLOUDWATCH: 'off',
    REDIS_URL: 'redis://127.0.0.1:1',
  });
  const app = await buildApp(config, { workers: false });
  t.teardown(() => app.close());
  if (kill) {
    let dead = false;
    app.aws.dynamodb.middlewareStack.add(
      (next, context) => async (args) => {
        if (dead) throw new Error('instance is dead');
        const input = args.input as Record<string, unknown>;
        if (!kill.matches(String(context.commandName), input)) return next(args);
        dead = true;
        if (kill.when === 'after') await next(args);
        throw new Error(`killed ${kill.when} ${kill.name}`);
      },
      { step: 'initialize', name: 'killAt' },
    );
  }
  const store = new InventoryStore(app, {
    holdSeconds: HOLD_MS / 1000,
    takeoverMs: TAKEOVER_MS,
    recordSweepMs: 0,
    retentionMs: 60_000,
  });
  return { app, store };
}

const values = (input: Record<string, unknown>) => JSON.stringify(input.ExpressionAttributeValues ?? {});
const onTable = (input: Record<string, unknown>, table: string) =>
  input.TableName === TABLES[table as 'inventory'];
const update = (input: Record<string, unknown>) => String(input.UpdateExpression ?? '');

const KILLS: readonly Kill[] = [
  {
    name: 'the hold write',
    when: 'before',
    matches: (c, i) => c === 'UpdateItemCommand' && onTable(i, 'inventory') && values(i).includes('"exp"'),
  },
  {
    name: 'the hold write',
    when: 'after',
    matches: (c, i) => c === 'UpdateItemCommand' && onTable(i, 'inventory') && values(i).includes('"exp"'),
  },
  {
    name: 'the reservation record',
    when: 'after',
    matches: (c, i) => c === 'PutItemCommand' && onTable(i, 'reservations'),
  },
  {
    name: 'the attach',
    when: 'after',
    matches: (c, i) => c === 'UpdateItemCommand' && update(i).includes(':attached'),
  },
  {
    name: 'the commit claim',
    when: 'after',
    matches: (c, i) => c === 'UpdateItemCommand' && update(i).startsWith('SET moving'),
  },
  {
    name: 'the sale write',
    when: 'after',
    matches: (c, i) =>
      c === 'UpdateItemCommand' && onTable(i, 'inventory') && values(i).includes('"committed"'),
  },
  {
    name: 'the commit record',
    when: 'after',
    matches: (c, i) => c === 'UpdateItemCommand' && update(i).includes('finishedAtMs'),
  },
];

async function freshSku(store: InventoryStore, stock: number): Promise<string> {
  const sku = `CRASH-${randomUUID().slice(0, 8).toUpperCase()}`;
  await store.upsert(sku, sku, 'test', 250);
  await store.restock(sku, stock);
  return sku;
}

/** The saga as the order service drives it; stops at the first error (the kill). */
async function saga(store: InventoryStore, orderId: string, sku: string): Promise<string> {
  const steps = [
    () => store.reserve(orderId, [{ sku, quantity: 2 }]),
    () => store.attach(orderId),
    () => store.commit(orderId),
  ];
  for (const [i, step] of steps.entries()) {
    try {
      await step();
    } catch {
      return ['reserve', 'attach', 'commit'][i] as string;
    }
  }
  return 'done';
}

const counters = async (store: InventoryStore, sku: string) => {
  const item = await store.get(sku);
  return { available: item?.available, reserved: item?.reserved, sold: item?.sold };
};

/** Lets every hold and claim of the dead instance age past its deadline, then sweeps. */
async function sweepAfterDeadlines(store: InventoryStore, sku: string) {
  await new Promise((r) => setTimeout(r, HOLD_MS + TAKEOVER_MS + 200));
  // A sweep that finds an expired hold of an attached order only drops the hold; one more
  // round then has nothing left to do: three rounds show the state is settled.
  for (let round = 0; round < 3; round++) await store.sweepExpired();
  return counters(store, sku);
}

for (const kill of KILLS) {
  t.test(`killed ${kill.when} ${kill.name}: a retry finishes the sale once`, async (t) => {
    // Prepare
    const setup = await instance();
    const sku = await freshSku(setup.store, 10);
    const orderId = randomUUID();
    const doomed = await instance(kill);
    // Act: the instance dies mid-saga; a new one takes the same calls from the failed step on
    const failedAt = await saga(doomed.store, orderId, sku);
    const next = await instance();
    const steps = ['reserve', 'attach', 'commit'];
    for (const step of steps.slice(steps.indexOf(failedAt))) {
      if (step === 'reserve') await next.store.reserve(orderId, [{ sku, quantity: 2 }]);
      if (step === 'attach') await next.store.attach(orderId);
      if (step === 'commit') await next.store.commit(orderId);
    }
    await next.store.commit(orderId); // the order service's retry after a lost answer
    const after = await sweepAfterDeadlines(next.store, sku);
    // Assess
    t.not(failedAt, 'done', 'the kill happened inside the saga');
    t.same(after, { available: 8, reserved: 0, sold: 2 }, `two units sold once (died in ${failedAt})`);
    t.equal((await next.store.reservation(orderId))?.status, 'committed');
  });

  t.test(`killed ${kill.when} ${kill.name}: with nobody retrying, no unit leaks past its hold`, async (t) => {
    // Prepare
    const setup = await instance();
    const sku = await freshSku(setup.store, 10);
    const orderId = randomUUID();
    const doomed = await instance(kill);
    // Act
    const failedAt = await saga(doomed.store, orderId, sku);
    const sweeper = await instance();
    const record = () => sweeper.store.reservation(orderId);
    const settled = await sweepAfterDeadlines(sweeper.store, sku);
    // Assess: attached and not yet paid is a live order (its units stay reserved); a claimed
    // commit is finished by whoever takes it over; anything else gives every unit back.
    const status = (await record())?.status;
    const expected =
      status === 'committed'
        ? { available: 8, reserved: 0, sold: 2 }
        : status === 'attached'
          ? { available: 8, reserved: 2, sold: 0 }
          : { available: 10, reserved: 0, sold: 0 };
    t.same(settled, expected, `died in ${failedAt}; the record says ${status ?? 'nothing'}`);
    t.notOk(status === 'held', 'a held record whose hold expired is released, not left claiming units');
  });
}

t.test('two instances selling one SKU never oversell it', async (t) => {
  // Prepare
  const a = await instance();
  const b = await instance();
  const sku = await freshSku(a.store, 30);
  // Act: 100 buyers split over two instances, concurrently
  const results = await Promise.allSettled(
    Array.from({ length: 100 }, (_, i) =>
      (i % 2 ? a : b).store.reserve(randomUUID(), [{ sku, quantity: 1 }]),
    ),
  );
  // Assess
  const granted = results.filter((r) => r.status === 'fulfilled').length;
  const refusals = results.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as { code?: string }).code] : [],
  );
  t.equal(granted, 30, 'every unit sold, none twice');
  t.ok(
    refusals.every((code) => code === 'CAFE_ERR_OUT_OF_STOCK'),
    `the rest hear sold out (${[...new Set(refusals)].join(', ')})`,
  );
  t.same(await counters(a.store, sku), { available: 0, reserved: 30, sold: 0 });
});

/** Reserves 2 units for a new order, lets the hold run out, and sweeps: the units go back. */
async function lapsedOrder(store: InventoryStore, sku: string): Promise<string> {
  const orderId = randomUUID();
  await store.reserve(orderId, [{ sku, quantity: 2 }]);
  await new Promise((r) => setTimeout(r, HOLD_MS + 100));
  await store.sweepExpired();
  return orderId;
}

t.test('an order whose hold lapsed and was given back attaches while its units remain', async (t) => {
  // Prepare: the order was accepted, then inventory stayed out of reach past the hold
  const { store } = await instance();
  const sku = await freshSku(store, 10);
  const orderId = await lapsedOrder(store, sku);
  const lapsed = await store.reservation(orderId);
  const whileLapsed = await counters(store, sku);
  // Act: the outage ends, the order service's attach arrives, then its commit
  const attached = await store.attach(orderId);
  const afterAttach = await counters(store, sku);
  await store.commit(orderId);
  const settled = await sweepAfterDeadlines(store, sku);
  // Assess
  t.match(lapsed, { status: 'released', reason: 'expired' }, 'the sweeper had released it');
  t.same(whileLapsed, { available: 10, reserved: 0, sold: 0 }, 'its units were back on the shelf');
  t.equal(attached.status, 'attached', 'the late attach succeeds');
  t.same(afterAttach, { available: 8, reserved: 2, sold: 0 }, 'and takes its units again');
  t.same(settled, { available: 8, reserved: 0, sold: 2 }, 'sold once, nothing left held');
});

t.test('an order held past its expiry but not swept yet attaches with the same units', async (t) => {
  // Prepare
  const { store } = await instance();
  const sku = await freshSku(store, 10);
  const orderId = randomUUID();
  await store.reserve(orderId, [{ sku, quantity: 2 }]);
  await new Promise((r) => setTimeout(r, HOLD_MS + 100));
  // Act
  const attached = await store.attach(orderId);
  const settled = await sweepAfterDeadlines(store, sku);
  // Assess
  t.equal(attached.status, 'attached');
  t.same(settled, { available: 8, reserved: 2, sold: 0 }, 'the sweeper leaves an attached order alone');
});

t.test('a lapsed order whose units were sold meanwhile is refused, never oversold', async (t) => {
  // Prepare: the lapsed order's two units went to another buyer while it could not attach
  const { store } = await instance();
  const sku = await freshSku(store, 2);
  const lapsedId = await lapsedOrder(store, sku);
  const otherId = randomUUID();
  await store.reserve(otherId, [{ sku, quantity: 2 }]);
  await store.attach(otherId);
  // Act
  const refused = await store.attach(lapsedId).then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );
  const settled = await sweepAfterDeadlines(store, sku);
  // Assess
  t.equal(refused, 'CAFE_ERR_CONFLICT', 'the late attach is refused (the order service cancels it)');
  t.same(settled, { available: 0, reserved: 2, sold: 0 }, "the other buyer's units stay theirs");
  t.equal((await store.reservation(lapsedId))?.status, 'released');
});

t.test('two instances attaching one lapsed order take its units once', async (t) => {
  // Prepare
  const a = await instance();
  const b = await instance();
  const sku = await freshSku(a.store, 10);
  const orderId = await lapsedOrder(a.store, sku);
  // Act: a retried attach (the first answer lost) racing the first, on another instance
  const answers = await Promise.all([a.store.attach(orderId), b.store.attach(orderId)]);
  const settled = await sweepAfterDeadlines(a.store, sku);
  // Assess
  t.same(
    answers.map((r) => r.status),
    ['attached', 'attached'],
    'both hear attached',
  );
  t.same(settled, { available: 8, reserved: 2, sold: 0 }, 'two units reserved, not four');
});
