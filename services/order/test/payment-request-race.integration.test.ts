import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { QUEUES } from '@cloudcafe/contracts';
import type { ServiceApp } from '@cloudcafe/kit';
import pg from 'pg';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadOrderConfig } from '../src/config.js';
import { InventoryClient } from '../src/inventory-client.js';
import { enqueue, Orders, paymentRequest } from '../src/orders.js';
import { OutboxRelay } from '../src/relay.js';
import { migrate } from '../src/schema.js';
import { lab } from './support/lab.js';

// The payment request against a cancel, through the real write path: the relay and the cancel
// of the order service, on the lab's PostgreSQL and the lab's SQS engine. The relay runs here,
// in-process, so that it can die at the one moment that matters: after SQS took the request
// and before its transaction recorded that. Its own database and its own queue keep the lab's
// order and payment services out of it: the SQS clients given to the relay here look the
// payment queue's name up as this run's queue (the engine has no regions to separate them).

const LEASE_MS = 1000;
const QUEUE = `race-${randomBytes(4).toString('hex')}.fifo`;

const postgresUrl = (db: string) => `postgres://cloudcafe@127.0.0.1:${lab().ports.postgres}/${db}`;
const sqsEndpoint = () => {
  const link = lab().links.find((l) => l.name === 'order-to-sqs');
  if (!link) throw new Error('no order-to-sqs link in the lab');
  return `http://127.0.0.1:${link.upstreamPort}`;
};
const sqsConfig = (endpoint = sqsEndpoint()): SQSClientConfig => ({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});

/** An SQS client for a relay under test: the payment queue it asks for is this run's queue. */
function relaySqs(endpoint?: string): SQSClient {
  const sqs = new SQSClient(sqsConfig(endpoint));
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueName?: string };
      if (context.commandName === 'GetQueueUrlCommand' && input.QueueName === QUEUES.paymentRequests) {
        input.QueueName = QUEUE;
      }
      return next(args);
    },
    { step: 'initialize', name: 'thisRunsQueue' },
  );
  return sqs;
}

const database = `orders_race_${randomBytes(4).toString('hex')}`;
let admin: pg.Pool;
let app: ServiceApp;
let queueUrl: string;

t.before(async () => {
  admin = new pg.Pool({ connectionString: postgresUrl('postgres'), max: 2 });
  await admin.query(`CREATE DATABASE ${database}`);
  const setup = new pg.Pool({ connectionString: postgresUrl(database), max: 1 });
  await migrate(setup);
  await setup.end();
  const sqs = new SQSClient(sqsConfig());
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: QUEUE,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }),
  );
  sqs.destroy();
  if (!created.QueueUrl) throw new Error('no queue url');
  queueUrl = created.QueueUrl;
  app = await buildApp(
    loadOrderConfig({
      SERVICE_NAME: 'order',
      PORT: '3999',
      ADMIN_TOKEN: 'unit-test-admin-token-0123456789',
      LOG_LEVEL: 'silent',
      METRICS_CLOUDWATCH: 'off',
      DATABASE_URL: postgresUrl(database),
      INVENTORY_URL: 'http://127.0.0.1:1',
    }),
    { workers: false },
  );
});

t.teardown(async () => {
  await app?.close().catch(() => {});
  const sqs = new SQSClient(sqsConfig());
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => {});
  sqs.destroy();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
});

/** An instance of the order service's saga code on its own pool, named so it can be killed. */
function instance(name: string, sqs: SQSClient) {
  const pool = new pg.Pool({ connectionString: postgresUrl(database), max: 4, application_name: name });
  // A terminated connection emits 'error' on the pool: that is the death this test causes.
  pool.on('error', () => {});
  // These orders' outbox holds payment requests only: inventory is never called.
  const inventory = new InventoryClient(app, 'http://127.0.0.1:1', 1000);
  const orders = new Orders(app, pool, inventory, () => {});
  const relay = new OutboxRelay(app, pool, orders, inventory, sqs, {
    batchSize: 10,
    idleMs: 50,
    maxBackoffMs: 200,
    sendLeaseMs: LEASE_MS,
  });
  t.teardown(async () => {
    orders.watch.close();
    sqs.destroy();
    await pool.end();
  });
  return { orders, relay, pool };
}

/** What the attach follow-up writes: a pending order whose payment request waits in the outbox. */
async function pendingOrder(db: pg.Pool): Promise<string> {
  const orderId = randomUUID();
  const customerId = `cust-${randomBytes(3).toString('hex')}`;
  const items = [{ sku: 'LATTE-12', quantity: 1, unitPriceCents: 450 }];
  await db.query(
    `INSERT INTO orders (order_id, customer_id, status, items, total_cents, currency, reservation)
     VALUES ($1, $2, 'pending', $3, 450, 'USD', 'attached')`,
    [orderId, customerId, JSON.stringify(items)],
  );
  await enqueue(
    db,
    orderId,
    'payment-requested',
    paymentRequest({ orderId, customerId, items, totalCents: 450 }),
  );
  return orderId;
}

/** The payment requests on the test's queue, by order id (received, not deleted). */
async function queued(): Promise<string[]> {
  const sqs = new SQSClient(sqsConfig());
  const found: string[] = [];
  for (let round = 0; round < 3; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 1,
      }),
    );
    found.push(...Messages.map((m) => (JSON.parse(m.Body ?? '{}') as { orderId: string }).orderId));
  }
  sqs.destroy();
  return found;
}

const outboxRow = async (db: pg.Pool, orderId: string) =>
  (
    await db.query<{ published_at: Date | null; sending_since: Date | null; voided: boolean }>(
      "SELECT published_at, sending_since, voided FROM outbox WHERE order_id = $1 AND kind = 'payment-requested'",
      [orderId],
    )
  ).rows[0];

t.test(
  'a relay that dies after SQS took the payment request leaves an order no cancel can take',
  async (t) => {
    // Prepare: a relay whose process dies the moment SQS has accepted the request: its
    // connections to PostgreSQL are cut, so nothing it had not committed survives
    const sqs = relaySqs();
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName !== 'SendMessageBatchCommand') return out;
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'doomed-relay'",
        );
        throw new Error('the relay died after SQS accepted the request');
      },
      { step: 'build', name: 'dieAfterSend' },
    );
    const doomed = instance('doomed-relay', sqs);
    const next = instance('next-instance', relaySqs());
    const orderId = await pendingOrder(next.pool);
    // Act
    await doomed.relay.relayOnce().catch(() => undefined);
    const cancel = await next.orders.cancel(orderId).then(
      (view) => ({ status: view.status, code: undefined }),
      (err: { code?: string }) => ({ status: undefined, code: err.code }),
    );
    // Assess
    t.ok((await queued()).includes(orderId), 'the payment request is on the queue: it will be charged');
    t.same(
      cancel,
      { status: undefined, code: 'CAFE_ERR_ORDER_NOT_CANCELLABLE' },
      'the cancel is refused, not answered with a cancelled order that gets charged',
    );
    t.equal((await next.orders.get(orderId)).status, 'pending', 'the order waits for its payment');
    // Once the dead relay's lease is over, the next one sends the request again and records it.
    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    await next.relay.relayOnce();
    t.ok((await outboxRow(next.pool, orderId))?.published_at, 'the request is recorded as published');
  },
);

t.test(
  'a send refused before it reached SQS leaves the order cancellable, and nothing is sent',
  async (t) => {
    // Prepare: SQS unreachable (nothing listens), so the attempt surely never arrived
    const unreachable = instance('unreachable-relay', relaySqs('http://127.0.0.1:1'));
    const next = instance('cancelling-instance', relaySqs());
    const orderId = await pendingOrder(next.pool);
    // Act
    await unreachable.relay.relayOnce();
    const afterAttempt = await outboxRow(next.pool, orderId);
    const view = await next.orders.cancel(orderId);
    await new Promise((r) => setTimeout(r, LEASE_MS + 100));
    await next.relay.relayOnce();
    // Assess
    t.equal(afterAttempt?.published_at, null, 'the failed attempt published nothing');
    t.equal(afterAttempt?.sending_since, null, 'and its sending mark was taken back');
    t.equal(view.status, 'cancelled', 'the customer could cancel');
    t.equal((await outboxRow(next.pool, orderId))?.voided, true, 'the request was voided');
    t.notOk((await queued()).includes(orderId), 'and never sent');
  },
);
