import { QUEUES } from '@cloudcafe/contracts';
import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

/**
 * The runtime's own settings, on top of the kit's base (it is a lab process with an admin API
 * like any service). Defaults follow the CDK event source mapping (batch size 10) and the
 * queue's 30 s visibility timeout (the invocation timeout stays below it, so a message is never
 * visible again while its invocation still runs).
 */
export const RuntimeConfigSchema = Type.Object({
  LAMBDA_HANDLER: Type.String({
    minLength: 1,
    default: 'services/payment/src/handler.ts',
    description: 'The handler module, relative to the working directory or absolute',
  }),
  LAMBDA_FUNCTION_NAME: Type.String({ minLength: 1, default: 'cloudcafe-payment' }),
  LAMBDA_QUEUE_NAME: Type.String({ minLength: 1, default: QUEUES.paymentRequests }),
  LAMBDA_DLQ_NAME: Type.String({ minLength: 1, default: QUEUES.paymentRequestsDlq }),
  LAMBDA_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10, default: 10 }),
  LAMBDA_BATCH_WINDOW_MS: Type.Integer({ minimum: 0, maximum: 300_000, default: 100 }),
  LAMBDA_MAX_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  LAMBDA_TIMEOUT_MS: Type.Integer({ minimum: 1000, maximum: 900_000, default: 20_000 }),
  LAMBDA_INIT_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 120_000,
    default: 60_000,
    description:
      'Bound on an instance init, apart from the invocation timeout (Lambda: 10 s; far more here, ' +
      'where a few inits share two cores with the whole lab and others)',
  }),
  LAMBDA_VISIBILITY_SECONDS: Type.Integer({
    minimum: 5,
    maximum: 43_200,
    default: 30,
    description: 'The queue visibility timeout the heartbeat renews for batches in flight',
  }),
  LAMBDA_IDLE_MS: Type.Integer({
    minimum: 1000,
    maximum: 3_600_000,
    default: 120_000,
    description: 'An instance idle this long is recycled; the next invocation starts cold',
  }),
  LAMBDA_MEMORY_MIB: Type.Integer({ minimum: 128, maximum: 10_240, default: 512 }),
  LAMBDA_RETRY_BASE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 900,
    default: 1,
    description: 'Visibility backoff of a failed record: base · 2^(receives-1) seconds',
  }),
  LAMBDA_RETRY_MAX_SECONDS: Type.Integer({ minimum: 0, maximum: 43_200, default: 30 }),
});

export type RuntimeConfig = ReturnType<typeof loadRuntimeConfig>;
export const loadRuntimeConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(RuntimeConfigSchema, env);
