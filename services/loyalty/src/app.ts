import { OrderEvent, TIER_NAMES } from '@cloudcafe/contracts';
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
  workerName,
} from '@cloudcafe/kit';
import { Redis } from 'ioredis';
import Type from 'typebox';
import { batchCalculation } from './batch-calculation.js';
import type { LoyaltyConfig } from './config.js';
import { createLedger } from './ledger.js';

/**
 * Loyalty: consumes order events from Kinesis (every shard) and keeps balances, tiers, a
 * ledger and a leaderboard in Redis. See points.ts for the rule and ledger.ts for idempotency.
 */

const CustomerParams = Type.Object(
  { customerId: Type.String({ pattern: '^[A-Za-z0-9_:-]{1,64}$' }) },
  { additionalProperties: false },
);
const Tier = Type.Enum(TIER_NAMES);
const LedgerEntry = Type.Object({
  eventId: Type.String(),
  orderId: Type.String(),
  type: Type.Enum(['OrderConfirmed', 'OrderCancelled']),
  points: Type.Integer(),
  at: Type.String(),
});
const Account = Type.Object({
  customerId: Type.String(),
  points: Type.Integer(),
  tier: Tier,
  confirmedOrders: Type.Integer(),
  history: Type.Array(LedgerEntry, { description: 'The last 20 ledger entries, newest first' }),
});
const Leaderboard = Type.Object({
  entries: Type.Array(
    Type.Object({ rank: Type.Integer(), customerId: Type.String(), points: Type.Integer(), tier: Tier }),
  ),
});
const LeaderboardQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) },
  { additionalProperties: false },
);
const Summary = Type.Object({
  customers: Type.Integer(),
  pointsOutstanding: Type.Integer(),
  pointsAwarded: Type.Integer(),
  pointsRefunded: Type.Integer(),
  ordersAwarded: Type.Integer({
    description: 'Confirmed orders that earned points (minus none: see ordersRefunded)',
  }),
  ordersRefunded: Type.Integer(),
  confirmedRevenueCents: Type.Integer({ description: 'Totals of confirmed orders, less refunded ones' }),
  consumer: Type.Object({
    streamEpoch: Type.Union([Type.String(), Type.Null()]),
    positions: Type.Record(Type.String(), Type.String()),
  }),
});

const APPLIED_TYPES = new Set(['OrderConfirmed', 'OrderCancelled']);

export async function buildApp(config: LoyaltyConfig): Promise<ServiceApp> {
  const logger = createLogger({ service: 'loyalty', level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: 'loyalty', platform: config.PLATFORM });
  // Redis is this service's database: bounded commands and no offline queue, so a cut link
  // fails fast (the consumer backs off and retries the batch) instead of piling up memory.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    commandTimeout: 2000,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // A connection dropped by a cut link must not become an unhandled 'error' event.
  redis.on('error', () => {});
  await redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'redis not reachable yet'));
  const ledger = createLedger(redis);

  const app = await buildServiceApp({
    service: 'loyalty',
    config,
    logger,
    metrics,
    scenarios: [batchCalculation(ledger)],
    routes: async (api) => {
      const redisCall = <T>(call: () => Promise<T>) =>
        call().catch((error: unknown) => {
          throw new CafeError('CAFE_ERR_DEPENDENCY_FAILED', 'the loyalty store did not answer', {
            cause: error,
          });
        });
      api.get(
        '/leaderboard',
        {
          schema: {
            querystring: LeaderboardQuery,
            response: { 200: Leaderboard, ...errorResponses(400, 502) },
          },
        },
        async (request) => ({ entries: await redisCall(() => ledger.leaderboard(request.query.limit)) }),
      );
      api.get('/summary', { schema: { response: { 200: Summary, ...errorResponses(502) } } }, async () => ({
        ...(await redisCall(() => ledger.totals())),
        consumer: { streamEpoch: consumer.streamEpoch ?? null, positions: consumer.positions() },
      }));
      api.get(
        '/:customerId',
        { schema: { params: CustomerParams, response: { 200: Account, ...errorResponses(400, 502) } } },
        async (request) => redisCall(() => ledger.account(request.params.customerId)),
      );
    },
  });

  const consumer = createKinesisConsumer({
    client: app.aws.kinesis,
    streamName: config.LOYALTY_STREAM,
    consumer: 'loyalty',
    // one instance per shard, however many run (ADR 0018)
    leases: dynamoShardLeases({
      client: app.aws.documentClient,
      table: config.LOYALTY_LEASE_TABLE,
      consumer: 'loyalty',
      owner: workerName(),
    }),
    checkpoints: ledger.checkpoints(),
    batchSize: config.LOYALTY_BATCH_SIZE,
    logger,
    metrics,
    handle: async ({ records }) => {
      for (const record of records) {
        let event: OrderEvent;
        try {
          event = parseWithSchema(OrderEvent, JSON.parse(Buffer.from(record.data).toString('utf8')), {
            part: 'record',
          });
        } catch (error) {
          // A record that can never be applied must not block its shard: log it and move on.
          logger.warn(
            { err: error, shardId: record.shardId, sequenceNumber: record.sequenceNumber },
            'invalid order event skipped',
          );
          continue;
        }
        if (!APPLIED_TYPES.has(event.type)) continue;
        const { outcome, points } = await ledger.apply(event);
        if (outcome === 'duplicate' || outcome === 'order-seen') {
          metrics.inc('events_duplicate_skipped_total', { consumer: 'loyalty' });
        } else if (outcome === 'awarded' && points > 0) {
          metrics.inc('loyalty_points_awarded_total', points);
        }
      }
    },
  });

  app.health.register('redis', () => redis.ping());
  app.shutdown.register('consumers', 'kinesis consumer', (signal) => consumer.stop(signal));
  app.shutdown.register('resources', 'redis', () => redis.quit().catch(() => redis.disconnect()));
  app.addHook('onReady', async () => consumer.start());
  return app;
}
