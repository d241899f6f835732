import { isAbsolute, resolve } from 'node:path';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { buildServiceApp, CafeError, type Logger, type ServiceApp } from '@cloudcafe/kit';
import Type from 'typebox';
import type { RuntimeConfig } from './config.js';
import { InstancePool } from './instance-pool.js';
import { LambdaRuntime } from './runtime.js';

/**
 * The local Lambda runtime as a lab process: the event source mapping and the instances
 * (runtime.ts, instance-pool.ts) plus a small admin API built on the kit, so it has what every
 * lab process has — health, /metrics, CloudWatch export, and the kit's fault-flag routes, which
 * is how `lambda-delay` and `lambda-error` reach it. Its routes live under `/api/payments` on
 * its own port (the function belongs to the payment service); the payment HTTP front forwards
 * the two lambda flags here, so they can be set through the gateway like any flag.
 *
 * - `GET  /api/payments/runtime` — settings, concurrency, instances, counters, queue depths
 * - `GET  /api/payments/runtime/invocations?since=<epoch ms>` — invocation records
 * - `POST /api/payments/runtime/recycle` (admin) — retire every instance: the next ones start cold
 */

const InvocationsQuery = Type.Object({
  since: Type.Integer({ minimum: 0, default: 0, description: 'Epoch milliseconds' }),
});

export async function buildRuntimeApp(
  config: RuntimeConfig,
): Promise<{ app: ServiceApp; runtime: LambdaRuntime }> {
  // The routes are registered while the app is built, before the runtime exists (it needs the
  // app's clients, flags and metrics); they reach it through this reference at request time.
  let started: LambdaRuntime | undefined;
  const live = (): LambdaRuntime => {
    if (!started) throw new CafeError('CAFE_ERR_UNAVAILABLE', 'the runtime is starting');
    return started;
  };
  const app = await buildServiceApp({
    service: 'payment',
    config,
    routes: async (api) => {
      api.get('/runtime', async () => live().status());
      api.get('/runtime/invocations', { schema: { querystring: InvocationsQuery } }, async (request) => ({
        invocations: live().invocationsSince(request.query.since),
      }));
      api.post('/runtime/recycle', { onRequest: api.requireAdmin }, async () => {
        if (!live().status().polling) throw new CafeError('CAFE_ERR_UNAVAILABLE', 'the runtime is stopping');
        return { retired: live().recycle() };
      });
    },
  });
  const queueUrl = async (name: string) => {
    const { QueueUrl } = await app.aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!QueueUrl) throw new Error(`no queue named ${name}`);
    return QueueUrl;
  };
  const handlerPath = isAbsolute(config.LAMBDA_HANDLER)
    ? config.LAMBDA_HANDLER
    : resolve(config.LAMBDA_HANDLER);
  // An instance sees the environment a Lambda environment would: the process's own, minus what
  // belongs to the runtime's HTTP side.
  const instanceEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !['PORT', 'HOST', 'ADMIN_TOKEN', 'ADMIN_TOKEN_FILE'].includes(entry[0]),
    ),
  );
  const pool = new InstancePool({
    data: { handlerPath, functionName: config.LAMBDA_FUNCTION_NAME, memoryMiB: config.LAMBDA_MEMORY_MIB },
    env: { ...instanceEnv, AWS_LAMBDA_FUNCTION_NAME: config.LAMBDA_FUNCTION_NAME },
    idleMs: config.LAMBDA_IDLE_MS,
    onStdoutLine: (line) => (started ? started.bridgeLine(line) : process.stdout.write(`${line}\n`)),
  });
  const runtime = new LambdaRuntime(
    {
      functionName: config.LAMBDA_FUNCTION_NAME,
      queueUrl: await queueUrl(config.LAMBDA_QUEUE_NAME),
      dlqUrl: await queueUrl(config.LAMBDA_DLQ_NAME),
      batchSize: config.LAMBDA_BATCH_SIZE,
      batchWindowMs: config.LAMBDA_BATCH_WINDOW_MS,
      maxConcurrency: config.LAMBDA_MAX_CONCURRENCY,
      timeoutMs: config.LAMBDA_TIMEOUT_MS,
      initTimeoutMs: config.LAMBDA_INIT_TIMEOUT_MS,
      visibilitySeconds: config.LAMBDA_VISIBILITY_SECONDS,
      retryBaseSeconds: config.LAMBDA_RETRY_BASE_SECONDS,
      retryMaxSeconds: config.LAMBDA_RETRY_MAX_SECONDS,
    },
    app.aws.sqs,
    pool,
    app.flags,
    app.metrics,
    app.log as unknown as Logger,
  );
  started = runtime;
  app.health.register('sqs', () =>
    app.aws.sqs.send(new GetQueueUrlCommand({ QueueName: config.LAMBDA_QUEUE_NAME })),
  );
  app.shutdown.register('consumers', 'stop polling, finish invocations', () => runtime.stop());
  return { app, runtime };
}
