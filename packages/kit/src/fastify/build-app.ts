import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { KitConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import type { ServiceName } from '../services.js';
import type { Shutdown } from '../shutdown.js';
import type { StressScenario } from '../stress.js';
import { adminAuthPlugin } from './admin-auth-plugin.js';
import { awsPlugin, configPlugin } from './config-plugin.js';
import { errorsPlugin } from './errors-plugin.js';
import { flagsPlugin } from './flags-plugin.js';
import { healthPlugin } from './health-plugin.js';
import { metricsPlugin } from './metrics-plugin.js';
import { openapiPlugin } from './openapi-plugin.js';
import { shutdownPlugin } from './shutdown-plugin.js';
import { stressPlugin } from './stress-plugin.js';
import type { ServiceApp } from './types.js';
import { cafeValidatorCompiler } from './validator.js';

/** Default largest request body: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

// A caller's request id is reused when it looks like one; anything else is replaced.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Options for {@link buildServiceApp}. */
export interface BuildServiceAppOptions {
  service: ServiceName;
  config: KitConfig;
  /** Default: a kit logger at `LOG_LEVEL`. */
  logger?: Logger;
  /** Default: a registry for this service and platform. */
  metrics?: Metrics;
  /** Default: a shutdown bounded by `SHUTDOWN_TIMEOUT_MS`. */
  shutdown?: Shutdown;
  /** The service's stress scenarios (routes under `/api/<svc>/stress/<name>`). */
  scenarios?: readonly StressScenario[];
  /** The service's own routes, registered under `/api/<svc>`. */
  routes?: FastifyPluginAsyncTypebox;
  /** Largest accepted body in bytes (default 1 MiB); larger ones answer 413. */
  bodyLimit?: number;
  /** The service's version, shown in its OpenAPI document. */
  version?: string;
  /** How long a cancelled stress run may take to stop before it is marked failed (default 5 s). */
  stressStopGraceMs?: number;
}

/**
 * Builds a service's Fastify app with everything the kit provides, under the service's prefix
 * `/api/<svc>`: request ids (`x-request-id`, reused when sent), request metrics, the error
 * and not-found handlers, health, metrics, fault-flag admin routes, stress routes, OpenAPI,
 * the shutdown and AWS clients. The service adds only its own routes. It does not listen:
 * `startServer` does that.
 *
 * @example
 * ```ts
 * // services/order/src/app.ts
 * export async function buildApp(config: OrderConfig) {
 *   return buildServiceApp({
 *     service: 'order',
 *     config,
 *     scenarios: [morningRush],
 *     routes: async (api) => {
 *       api.post('/', { schema: { body: NewOrder, response: { 202: Accepted, ...errorResponses(400, 409) } } },
 *         async (request, reply) => reply.code(202).send(await accept(request.body)));
 *     },
 *   });
 * }
 * ```
 */
export async function buildServiceApp(options: BuildServiceAppOptions): Promise<ServiceApp> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ service: options.service, level: config.LOG_LEVEL });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request at info would dominate CPU under load; the kit logs refusals at
    // debug and failures at error instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(cafeValidatorCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(configPlugin, { service: options.service, config });
  await app.register(openapiPlugin, options.version === undefined ? {} : { version: options.version });
  await app.register(errorsPlugin);
  await app.register(shutdownPlugin, options.shutdown ? { shutdown: options.shutdown } : {});
  // One registry for both: the AWS clients count their calls in the registry the metrics
  // plugin serves and flushes, and the metrics plugin flushes through those clients.
  const metrics = options.metrics ?? createMetrics({ service: options.service, platform: config.PLATFORM });
  await app.register(awsPlugin, { metrics });
  await app.register(metricsPlugin, { metrics });
  await app.register(healthPlugin);
  await app.register(adminAuthPlugin);
  await app.register(flagsPlugin);
  await app.register(stressPlugin, {
    scenarios: options.scenarios ?? [],
    ...(options.stressStopGraceMs !== undefined && { stopGraceMs: options.stressStopGraceMs }),
  });
  if (options.routes) await app.register(options.routes, { prefix: app.cafe.prefix });
  return app;
}
