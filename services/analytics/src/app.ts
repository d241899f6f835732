import { OrderEvent } from '@cloudcafe/contracts';
import {
  buildServiceApp,
  CafeError,
  createKinesisConsumer,
  createLogger,
  createMetrics,
  dynamoShardLeases,
  errorResponses,
  parseWithSchema,
  type ServiceApp,
  withInjectedFaults,
  workerName,
} from '@cloudcafe/kit';
import pg from 'pg';
import Type from 'typebox';
import type { AnalyticsConfig } from './config.js';
import { queryStorm } from './query-storm.js';
import { summary, windowsBetween } from './reports.js';
import { type AppliedEvent, applyBatch, migrate, warehouseCheckpoints } from './warehouse.js';

/**
 * Analytics: a Kinesis worker that folds order events into 5-minute windows in the PostgreSQL
 * warehouse (see windows.ts for the rules, warehouse.ts for the transaction), and a small HTTP
 * API over the windows.
 */

const DAY_MS = 24 * 3600_000;
const MAX_SPAN_MS = 31 * DAY_MS;

const Range = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Windows starting at or after' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Windows starting before' })),
  },
  { additionalProperties: false },
);
const Product = Type.Object({ sku: Type.String(), quantity: Type.Integer(), revenueCents: Type.Integer() });
const Window = Type.Object({
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
  closed: Type.Boolean({
    description: 'The watermark has passed end + 1 min grace; late events may still amend it',
  }),
  orderCount: Type.Integer(),
  revenueCents: Type.Integer(),
  averageOrderValueCents: Type.Integer(),
  refundCount: Type.Integer(),
  refundedCents: Type.Integer(),
  lateEvents: Type.Integer(),
  updatedAt: Type.String({ format: 'date-time' }),
  topProducts: Type.Array(Product, { maxItems: 5 }),
});
const WindowList = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  windows: Type.Array(Window),
});
const Summary = Type.Object({
  confirmedOrders: Type.Integer(),
  revenueCents: Type.Integer({ description: 'Sum of confirmed order totals' }),
  refunds: Type.Integer(),
  refundedCents: Type.Integer({ description: 'Totals of confirmed orders cancelled afterwards' }),
  netRevenueCents: Type.Integer(),
  averageOrderValueCents: Type.Integer(),
  lateEvents: Type.Integer(),
  windows: Type.Integer(),
  firstWindowStart: Type.Union([Type.String(), Type.Null()]),
  lastWindowStart: Type.Union([Type.String(), Type.Null()]),
  watermark: Type.Union([Type.String(), Type.Null()]),
  consumer: Type.Object({
    streamEpoch: Type.Union([Type.String(), Type.Null()]),
    positions: Type.Record(Type.String(), Type.String()),
  }),
});

function rangeOf(query: { from?: string; to?: string }, defaultSpanMs: number): { from: Date; to: Date } {
  const to = query.to ? new Date(query.to) : new Date(Date.now() + 3600_000);
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - defaultSpanMs);
  if (!(from < to)) throw new CafeError('CAFE_ERR_VALIDATION', 'querystring.from: must be before to');
  if (to.getTime() - from.getTime() > MAX_SPAN_MS) {
    throw new CafeError('CAFE_ERR_VALIDATION', 'querystring.to: the range must span 31 days at most');
  }
  return { from, to };
}

export async function buildApp(config: AnalyticsConfig): Promise<ServiceApp> {
  const logger = createLogger({ service: 'analytics', level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: 'analytics', platform: config.PLATFORM });
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: 6,
    connectionTimeoutMillis: 2000,
    statement_timeout: 10_000,
    application_name: 'cloudcafe-analytics',
  });
  // An idle connection dropped by a cut link must not become an unhandled 'error' event.
  pool.on('error', () => {});
  await migrate(pool);

  const app = await buildServiceApp({
    service: 'analytics',
    config,
    logger,
    metrics,
    scenarios: [queryStorm(config.DATABASE_URL)],
    routes: async (api) => {
      const db = <T>(call: () => Promise<T>) =>
        withInjectedFaults(api.flags, call, { dependency: 'postgres' }).catch((error: unknown) => {
          if (error instanceof CafeError) throw error;
          throw new CafeError('CAFE_ERR_DEPENDENCY_FAILED', 'the warehouse did not answer', { cause: error });
        });
      api.get(
        '/windows',
        { schema: { querystring: Range, response: { 200: WindowList, ...errorResponses(400, 502, 503) } } },
        async (request) => {
          const { from, to } = rangeOf(request.query, DAY_MS);
          return {
            from: from.toISOString(),
            to: to.toISOString(),
            windows: await db(() => windowsBetween(pool, from, to)),
          };
        },
      );
      api.get(
        '/summary',
        { schema: { querystring: Range, response: { 200: Summary, ...errorResponses(400, 502, 503) } } },
        async (request) => {
          const bounded = request.query.from !== undefined || request.query.to !== undefined;
          const range = bounded ? rangeOf(request.query, MAX_SPAN_MS) : undefined;
          return {
            ...(await db(() => summary(pool, range?.from, range?.to))),
            consumer: { streamEpoch: consumer.streamEpoch ?? null, positions: consumer.positions() },
          };
        },
      );
    },
  });

  const consumer = createKinesisConsumer({
    client: app.aws.kinesis,
    streamName: config.ANALYTICS_STREAM,
    consumer: 'analytics',
    // one instance per shard, however many run (ADR 0018)
    leases: dynamoShardLeases({
      client: app.aws.documentClient,
      table: config.ANALYTICS_LEASE_TABLE,
      consumer: 'analytics',
      owner: workerName(),
    }),
    checkpoints: warehouseCheckpoints(pool),
    batchSize: config.ANALYTICS_BATCH_SIZE,
    logger,
    metrics,
    handle: async ({ records, checkpoint }) => {
      const events: AppliedEvent[] = [];
      for (const record of records) {
        try {
          const event = parseWithSchema(OrderEvent, JSON.parse(Buffer.from(record.data).toString('utf8')), {
            part: 'record',
          });
          events.push({ event, shardId: record.shardId, sequenceNumber: record.sequenceNumber });
        } catch (error) {
          // A record that can never be applied must not block its shard: log it and move on.
          logger.warn(
            { err: error, shardId: record.shardId, sequenceNumber: record.sequenceNumber },
            'invalid order event skipped',
          );
        }
      }
      const result = await applyBatch(pool, events, checkpoint);
      if (result.duplicates > 0)
        metrics.inc('events_duplicate_skipped_total', { consumer: 'analytics' }, result.duplicates);
      if (result.lastClosed)
        metrics.set('analytics_window_revenue', { window: '5m' }, result.lastClosed.revenueCents);
      if (result.late > 0)
        logger.info({ late: result.late, shardId: checkpoint.shardId }, 'late events amended closed windows');
    },
  });

  app.health.register('postgres', () => pool.query('SELECT 1'));
  app.shutdown.register('consumers', 'kinesis consumer', (signal) => consumer.stop(signal));
  app.shutdown.register('resources', 'postgres', () => pool.end());
  app.addHook('onReady', async () => consumer.start());
  return app;
}
