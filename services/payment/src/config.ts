import { BUCKETS, TABLES } from '@cloudcafe/contracts';
import { loadConfig, parseWithSchema } from '@cloudcafe/kit';
import Type, { type Static } from 'typebox';

/**
 * Two entry points, two schemas. The Lambda handler is not a server: it has no port and no
 * admin token, so it cannot use `loadConfig` (whose base schema requires both); it validates its
 * own section with the kit's validation core instead, once, at module init, and fails the init
 * with every bad variable named. The HTTP front is a normal kit service.
 */

export const HandlerConfigSchema = Type.Object({
  PAYMENT_GATEWAY_URL: Type.String({ minLength: 1, description: 'The card processor (a lab link locally)' }),
  PAYMENTS_TABLE: Type.String({ minLength: 1, default: TABLES.payments }),
  RECEIPTS_BUCKET: Type.String({ minLength: 1, default: BUCKETS.receipts }),
  PAYMENT_RESULTS_QUEUE_URL: Type.Optional(
    Type.String({ minLength: 1, description: 'Default: looked up by name (QUEUES.paymentResults)' }),
  ),
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  AWS_S3_FORCE_PATH_STYLE: Type.Enum(['on', 'off'], { default: 'off' }),
  PLATFORM: Type.Enum(['local', 'kubernetes', 'aws'], { default: 'aws' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  FRAUD_MODEL_ROUNDS: Type.Integer({
    minimum: 1000,
    maximum: 50_000_000,
    default: 250_000,
    description: 'SHA-256 links in the fraud model build: the cold-start cost of every new instance',
  }),
  GATEWAY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 25_000, default: 5000 }),
  PAYMENT_REQUESTS_QUEUE_URL: Type.Optional(
    Type.String({ minLength: 1, description: 'Default: looked up by name (QUEUES.paymentRequests)' }),
  ),
  PAYMENT_RETRY_WINDOW_SECONDS: Type.Integer({
    minimum: 60,
    // SQS keeps a message 4 days by default: a copy re-queued later than that could be lost.
    maximum: 4 * 86_400,
    // Under the order service's own patience (PAYMENT_RESULT_TIMEOUT_SECONDS × PAYMENT_REQUEST_MAX_SENDS,
    // 15 min by default): a payment must give up (DLQ, alarm) before its order times out, or
    // the order could fail while its charge still goes through.
    default: 600,
    description:
      "How long after an order's requestedAt a transient failure (gateway, DynamoDB, S3 down) is re-queued with a fresh receive budget instead of dead-lettering; keep it under the order service's payment timeout",
  }),
});
export type HandlerConfig = Static<typeof HandlerConfigSchema>;

export function loadHandlerConfig(env: NodeJS.ProcessEnv = process.env): HandlerConfig {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(HandlerConfigSchema.properties)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim();
  }
  return parseWithSchema(HandlerConfigSchema, raw, { part: 'env', coerce: true });
}

export const FrontConfigSchema = Type.Object({
  PAYMENTS_TABLE: Type.String({ minLength: 1, default: TABLES.payments }),
  RECEIPTS_BUCKET: Type.String({ minLength: 1, default: BUCKETS.receipts }),
  PAYMENT_REQUESTS_QUEUE_URL: Type.Optional(Type.String({ minLength: 1 })),
  PAYMENT_RUNTIME_URL: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The local Lambda runtime API; absent on AWS, where the cold-start stress is refused',
    }),
  ),
});

export type FrontConfig = ReturnType<typeof loadFrontConfig>;
export const loadFrontConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(FrontConfigSchema, env);
