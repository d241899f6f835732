import { buildServiceApp, createAwsClients, errorResponses, type ServiceApp } from '@cloudcafe/kit';
import pg from 'pg';
import Type from 'typebox';
import type { OrderConfig } from './config.js';
import { InventoryClient } from './inventory-client.js';
import {
  Accepted,
  IdempotencyHeaders,
  ListQuery,
  NewOrder,
  OrderId,
  OrderPage,
  OrderView,
  ReadQuery,
} from './model.js';
import { morningRush } from './morning-rush.js';
import { Orders } from './orders.js';
import { OutboxRelay } from './relay.js';
import { PaymentResultsConsumer } from './results-consumer.js';
import { migrate } from './schema.js';
import { StuckOrderSweeper } from './sweeper.js';

export interface BuildOptions {
  /** Migration, outbox relay, results consumer and sweeper; off for unit tests without engines. */
  workers?: boolean;
}

const IdParams = Type.Object({ id: OrderId });

export async function buildApp(config: OrderConfig, options: BuildOptions = {}): Promise<ServiceApp> {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.PG_POOL_MAX,
    connectionTimeoutMillis: 2000,
    // A query stuck behind a cut link must end, or it holds its connection (and locks) forever.
    query_timeout: 15_000,
  });
  // An idle connection dropped by a cut link emits 'error' on the pool; unhandled, it would
  // crash the process. The pool replaces the connection by itself.
  pool.on('error', () => {});

  let orders: Orders | undefined;
  let relay: OutboxRelay | undefined;
  const service = (): Orders => {
    if (!orders) throw new Error('orders used before the app was built');
    return orders;
  };
  const app = await buildServiceApp({
    service: 'order',
    config,
    scenarios: [morningRush],
    routes: async (api) => {
      api.post(
        '/',
        {
          schema: {
            summary: 'Place an order: stock is reserved and the order is durable when this answers 202',
            headers: IdempotencyHeaders,
            body: NewOrder,
            response: { 202: Accepted, ...errorResponses(400, 409, 429, 502, 503, 504) },
          },
        },
        async (request, reply) =>
          reply.code(202).send(await service().accept(request.body, request.headers['idempotency-key'])),
      );
      api.get(
        '/',
        {
          // Every customer's orders (ids, customers, items): an operator's view, not a public one.
          config: { cafeAdmin: true },
          onRequest: [api.requireAdmin],
          schema: {
            summary: 'Admin: orders, newest first, filtered by customer and status (cursor pagination)',
            querystring: ListQuery,
            response: { 200: OrderPage, ...errorResponses(400, 401, 429, 502, 503, 504) },
          },
        },
        async (request) => service().list(request.query),
      );
      api.get(
        '/:id',
        {
          schema: {
            summary: 'An order with its status history; waitSeconds makes it a long poll',
            params: IdParams,
            querystring: ReadQuery,
            response: { 200: OrderView, ...errorResponses(400, 404, 429, 502, 503, 504) },
          },
        },
        async (request, reply) => {
          // A reader that hangs up stops waiting: its slot is not held to the end of the wait.
          const gone = new AbortController();
          reply.raw.once('close', () => gone.abort());
          return service().get(request.params.id, request.query.waitSeconds, gone.signal);
        },
      );
      api.post(
        '/:id/cancel',
        {
          schema: {
            summary: 'Cancel before the payment is requested; the stock is released',
            params: IdParams,
            response: { 200: OrderView, ...errorResponses(400, 404, 409, 429, 502, 503, 504) },
          },
        },
        async (request) => service().cancel(request.params.id),
      );
    },
  });

  const inventory = new InventoryClient(app, config.INVENTORY_URL, config.INVENTORY_TIMEOUT_MS);
  orders = new Orders(
    app,
    pool,
    inventory,
    () => relay?.wake(),
    config.ORDER_MAX_DB_WAITING,
    config.ORDER_MAX_WAITING_READS,
  );
  // The relay retries with its own backoff, and it must know whether a failed send reached SQS
  // (ADR 0016): one attempt per send, so the error is that attempt's, on a connection of its
  // own, so a refusal is a refusal (a reused socket that SQS had closed only says "reset").
  const relayAws = createAwsClients({
    region: config.AWS_REGION,
    maxAttempts: 1,
    keepAlive: false,
    metrics: app.metrics,
  });
  relay = new OutboxRelay(app, pool, orders, inventory, relayAws.sqs, {
    batchSize: config.RELAY_BATCH_SIZE,
    idleMs: config.RELAY_IDLE_MS,
    maxBackoffMs: config.RELAY_MAX_BACKOFF_MS,
    sendLeaseMs: config.RELAY_SEND_LEASE_MS,
  });
  const consumer = new PaymentResultsConsumer(app, orders);
  const sweeper = new StuckOrderSweeper(
    app,
    orders,
    {
      intervalMs: config.SWEEP_INTERVAL_MS,
      paymentResultTimeoutSeconds: config.PAYMENT_RESULT_TIMEOUT_SECONDS,
      maxPaymentSends: config.PAYMENT_REQUEST_MAX_SENDS,
    },
    () => relay?.wake(),
  );
  app.health.register('postgres', () => pool.query('SELECT 1'));

  if (options.workers !== false) {
    // The schema must exist before the first request; the lab restarts a process that fails here.
    await migrate(pool);
    app.addHook('onReady', async () => {
      relay?.start();
      consumer.start();
      sweeper.start();
    });
  }
  // In the phase that closes the server, which waits for open requests: parked long polls
  // answer now with what they have, instead of holding the shutdown for up to their wait.
  app.shutdown.register('intake', 'long polls', () => orders?.watch.close());
  app.shutdown.register('consumers', 'outbox relay, results consumer, sweeper', async () => {
    await Promise.all([relay?.stop(), consumer.stop(), sweeper.stop()]);
  });
  app.shutdown.register('resources', 'postgres pool', () => pool.end());
  app.shutdown.register('resources', 'relay sqs client', () => relayAws.destroy());
  return app;
}
