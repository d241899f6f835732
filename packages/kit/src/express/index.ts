import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, {
  type ErrorRequestHandler,
  type Express as ExpressApp,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { Logger } from 'pino';
import { createAdminAuth } from '../admin-auth.js';
import { type AwsClients, createAwsClients } from '../aws.js';
import type { KitConfig } from '../config.js';
import { CafeError, toErrorAnswer } from '../errors.js';
import { createFlagStore, type FlagStore } from '../flags/store.js';
import { createHealth, type Health } from '../health.js';
import { buildOpenApiDocument, type RouteDoc } from '../http/openapi.js';
import {
  defineRoute,
  flagRoutes,
  healthRoutes,
  type KitRoute,
  metricsRoutes,
  type RouteInput,
  type RouteSchema,
  stressRoutes,
} from '../http/routes.js';
import { createLogger } from '../logger.js';
import { createCloudWatchExporter } from '../metrics/cloudwatch.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { type ServiceName, servicePrefix } from '../services.js';
import { createShutdown, type Shutdown, type ShutdownReport } from '../shutdown.js';
import { createStressHarness, type StressHarness, type StressScenario } from '../stress.js';
import { parseWithSchema } from '../validation.js';

declare global {
  namespace Express {
    interface Locals {
      /** The request id (the caller's `x-request-id` when it looks like one). */
      requestId: string;
      /** A logger carrying `requestId`. */
      log: Logger;
      /** The route pattern, for metrics; set by the kit when it knows it. */
      route?: string;
    }
  }
}

/** Default largest request body: 1 MiB, as on the Fastify services. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Options for {@link createExpressKit}. */
export interface ExpressKitOptions {
  service: ServiceName;
  config: KitConfig;
  logger?: Logger;
  metrics?: Metrics;
  shutdown?: Shutdown;
  scenarios?: readonly StressScenario[];
  /** Largest accepted body in bytes (default 1 MiB); larger ones answer 413. */
  bodyLimit?: number;
  version?: string;
  stressStopGraceMs?: number;
}

/** The kit's capabilities for an Express 5 service: the same core as the Fastify plugins. */
export interface ExpressKit {
  readonly service: ServiceName;
  /** `/api/<segment>`. */
  readonly prefix: string;
  readonly config: KitConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly flags: FlagStore;
  readonly stress: StressHarness;
  readonly shutdown: Shutdown;
  readonly aws: AwsClients;
  /** First middleware: request id, request logger, request metrics. */
  readonly intake: RequestHandler;
  /** JSON body parsing: 415 for non-JSON bodies, 400 for malformed or empty JSON, 413 when too large. */
  readonly body: RequestHandler[];
  /** Answers 401 `CAFE_ERR_UNAUTHORIZED` unless the admin token is presented. */
  readonly requireAdmin: RequestHandler;
  /** The kit's routes (health, metrics, flags, stress, openapi.json); mount it at `prefix`. */
  readonly router: Router;
  /** Answers 404 `CAFE_ERR_NOT_FOUND`; put it after every route. */
  readonly notFound: RequestHandler;
  /** The error handler, same codes and body as the Fastify services; put it last. */
  readonly errorHandler: ErrorRequestHandler;
  /**
   * Validates (and coerces, with defaults) params, querystring and body by TypeBox schemas;
   * a failure answers 400 `CAFE_ERR_VALIDATION` naming the field.
   */
  validate(schema: Omit<RouteSchema, 'response'>): RequestHandler;
  /** Mounts `defineRoute` routes on a router served at `prefix` (documented in openapi.json). */
  mount(router: Router, routes: readonly KitRoute[]): void;
}

/**
 * Builds the kit for an Express 5 service. The store, harness, registry, health and
 * validation are the same objects the Fastify plugins use, and the routes come from the same
 * table: this is an adapter, so a menu request is answered exactly as an order one would be.
 *
 * @example
 * ```ts
 * const kit = createExpressKit({ service: 'menu', config, scenarios: [menuSync] });
 * const app = express();
 * app.use(kit.intake);
 * app.use(kit.prefix, kit.router);
 * app.use(kit.prefix, menuRouter); // uses kit.body, kit.validate or kit.mount
 * app.use(kit.notFound, kit.errorHandler);
 * ```
 */
export function createExpressKit(options: ExpressKitOptions): ExpressKit {
  const { config, service } = options;
  if (config.SERVICE_NAME !== service) {
    throw new Error(`SERVICE_NAME is ${config.SERVICE_NAME} but this is the ${service} service`);
  }
  const prefix = servicePrefix(service);
  const logger = options.logger ?? createLogger({ service, level: config.LOG_LEVEL });
  const metrics = options.metrics ?? createMetrics({ service, platform: config.PLATFORM });
  const shutdown = options.shutdown ?? createShutdown({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
  const aws = createAwsClients({
    region: config.AWS_REGION,
    s3ForcePathStyle: config.AWS_S3_FORCE_PATH_STYLE === 'on',
    metrics,
  });
  const health = createHealth({
    service,
    onFailure: (check, err) => logger.warn({ err, check }, 'health check failed'),
  });
  const flags = createFlagStore({ service, metrics, logger });
  const stress = createStressHarness({
    scenarios: options.scenarios ?? [],
    logger,
    metrics,
    ...(options.stressStopGraceMs !== undefined && { stopGraceMs: options.stressStopGraceMs }),
  });
  const auth = createAdminAuth(config.ADMIN_TOKEN);
  const documented: RouteDoc[] = [];

  shutdown.register('intake', 'readiness', () => health.markShuttingDown());
  shutdown.register('drain', 'stress run', (signal) => stress.stop(signal));
  shutdown.register('resources', 'aws clients', () => aws.destroy());
  shutdown.register('resources', 'fault flags', () => flags.close());
  if (config.METRICS_CLOUDWATCH === 'on') {
    const exporter = createCloudWatchExporter({
      metrics,
      client: aws.cloudwatch,
      logger,
      intervalMs: config.METRICS_FLUSH_INTERVAL_MS,
    });
    exporter.start();
    shutdown.register('flush', 'cloudwatch metrics', () => exporter.stop());
  }
  shutdown.register('flush', 'process samplers', () => metrics.close());

  const intake: RequestHandler = (req, res, next) => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = logger.child({ requestId });
    res.setHeader('x-request-id', requestId);
    res.on('finish', () => {
      const route = res.locals.route ?? (req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched');
      const labels = { method: req.method, route, status: res.statusCode };
      metrics.inc('http_requests_total', labels);
      metrics.observe('http_request_duration_ms', labels, performance.now() - started);
      if (res.statusCode >= 400) {
        metrics.inc('http_errors_total', {
          method: req.method,
          route,
          status_class: `${Math.floor(res.statusCode / 100)}xx`,
        });
      }
    });
    next();
  };

  const json = express.json({ limit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, strict: false });
  const mediaType: RequestHandler = (req, _res, next) => {
    if (!METHODS_WITH_BODY.has(req.method)) return next();
    const length = req.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    const isJson = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() === 'application/json';
    // The same answers Fastify's parser gives: 415 for a non-JSON body, 400 for empty JSON.
    if (hasBody && !isJson)
      return next(new CafeError('CAFE_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
    if (!hasBody && isJson && length === '0') {
      return next(new CafeError('CAFE_ERR_MALFORMED_BODY', 'the body is empty but declared as JSON'));
    }
    next();
  };
  const body: RequestHandler[] = [mediaType, json];

  const requireAdmin: RequestHandler = (req, _res, next) => {
    auth.assert(req.headers.authorization);
    next();
  };

  const validateInput = (schema: Omit<RouteSchema, 'response'>, req: Request, emptyBody?: unknown) => {
    const params = schema.params
      ? parseWithSchema(schema.params, { ...req.params }, { part: 'params', coerce: true })
      : req.params;
    const query = schema.querystring
      ? parseWithSchema(schema.querystring, { ...req.query }, { part: 'querystring', coerce: true })
      : req.query;
    const raw = req.body === undefined && emptyBody !== undefined ? structuredClone(emptyBody) : req.body;
    const parsedBody = schema.body ? parseWithSchema(schema.body, raw ?? null, { part: 'body' }) : raw;
    return { params, query, body: parsedBody };
  };

  const validate = (schema: Omit<RouteSchema, 'response'>): RequestHandler => {
    return (req, res, next) => {
      const valid = validateInput(schema, req);
      if (req.route) res.locals.route ??= `${req.baseUrl}${String(req.route.path)}`;
      req.params = valid.params as Request['params'];
      // Express 5 exposes req.query through a getter; redefine it to hold the coerced values.
      Object.defineProperty(req, 'query', {
        value: valid.query,
        writable: true,
        configurable: true,
        enumerable: true,
      });
      req.body = valid.body;
      next();
    };
  };

  const mount = (router: Router, routes: readonly KitRoute[]) => {
    for (const route of routes) {
      const handlers: RequestHandler[] = [];
      handlers.push((_req, res, next) => {
        res.locals.route = `${prefix}${route.url}`;
        next();
      });
      if (route.admin) handlers.push(requireAdmin);
      if (route.schema.body) handlers.push(...body);
      handlers.push(async (req: Request, res: Response) => {
        const valid = validateInput(route.schema, req, route.emptyBody);
        const input = {
          ...valid,
          context: { requestId: res.locals.requestId, log: res.locals.log, headers: req.headers },
        } as RouteInput<RouteSchema>;
        const answer = await route.handler(input);
        res.status(answer.statusCode);
        if (answer.contentType) res.type(answer.contentType).send(answer.body);
        else res.json(answer.body);
      });
      const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
      router[method](route.url, ...handlers);
      documented.push({
        method: route.method,
        url: `${prefix}${route.url}`,
        summary: route.summary,
        tags: route.tags,
        admin: route.admin,
        schema: route.schema,
      });
    }
  };

  const router = express.Router();
  const openapi = defineRoute({
    method: 'GET',
    url: '/openapi.json',
    admin: false,
    summary: 'This document',
    tags: ['meta'],
    schema: { response: {} },
    handler: () => ({
      statusCode: 200,
      body: buildOpenApiDocument({
        title: `CloudCafe ${service}`,
        version: options.version ?? '0.1.0',
        routes: documented,
      }),
    }),
  });
  mount(router, [
    ...healthRoutes(health),
    ...metricsRoutes(metrics),
    ...flagRoutes(flags),
    ...stressRoutes(stress),
    openapi,
  ]);

  const notFound: RequestHandler = (req, _res, next) => {
    next(new CafeError('CAFE_ERR_NOT_FOUND', `no route ${req.method} ${req.path}`));
  };

  const errorHandler: ErrorRequestHandler = (
    err: unknown,
    _req: Request,
    res: Response,
    next: NextFunction,
  ) => {
    if (res.headersSent) return next(err);
    const { statusCode, body: answer, headers } = toErrorAnswer(err);
    const log = res.locals.log ?? logger;
    if (statusCode >= 500) log.error({ err }, 'request failed');
    else log.debug({ code: answer.error.code, message: answer.error.message }, 'request refused');
    res.status(statusCode).set(headers).json(answer);
  };

  return {
    service,
    prefix,
    config,
    logger,
    metrics,
    health,
    flags,
    stress,
    shutdown,
    aws,
    intake,
    body,
    requireAdmin,
    router,
    notFound,
    errorHandler,
    validate,
    mount,
  };
}

/** Options for {@link buildExpressServiceApp}. */
export interface BuildExpressServiceAppOptions extends ExpressKitOptions {
  /** Adds the service's routes to a router served at `/api/<svc>` (JSON bodies already parsed). */
  routes?: (router: Router, kit: ExpressKit) => void;
}

/**
 * The Express counterpart of `buildServiceApp`: an Express 5 app with the kit wired in the
 * right order (intake, kit routes, the service's routes, 404, error handler). It does not
 * listen: {@link startExpressServer} does that.
 *
 * @example
 * ```ts
 * const { app, kit } = buildExpressServiceApp({
 *   service: 'menu',
 *   config,
 *   scenarios: [menuSync],
 *   routes: (router, kit) => kit.mount(router, [listItems, getItem]),
 * });
 * await startExpressServer(app, kit);
 * ```
 */
export function buildExpressServiceApp(options: BuildExpressServiceAppOptions): {
  app: ExpressApp;
  kit: ExpressKit;
} {
  const kit = createExpressKit(options);
  const app = express();
  app.disable('x-powered-by');
  app.use(kit.intake);
  app.use(kit.prefix, kit.router);
  if (options.routes) {
    // No body parser for the whole router: kit.mount parses per route, after the admin check,
    // so an anonymous request to an admin route is a 401 whatever its body (never a 400 or 415
    // that shows the parser ran for someone without the token). Hand-written routes add kit.body.
    const serviceRouter = express.Router();
    options.routes(serviceRouter, kit);
    app.use(kit.prefix, serviceRouter);
  }
  app.use(kit.notFound);
  app.use(kit.errorHandler);
  return { app, kit };
}

/** A listening Express server. */
export interface RunningExpressServer {
  address: string;
  /** Runs the graceful shutdown (as a signal would) and resolves with its report. */
  stop(reason?: string): Promise<ShutdownReport>;
}

/**
 * The thin server entry for Express: listens on `HOST:PORT`, closes the server in the
 * shutdown's intake phase, and installs SIGTERM/SIGINT (shutdown, then exit).
 *
 * @example
 * ```ts
 * await startExpressServer(app, kit);
 * ```
 */
export async function startExpressServer(
  app: ExpressApp,
  kit: ExpressKit,
  options: { signals?: readonly NodeJS.Signals[] } = {},
): Promise<RunningExpressServer> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(kit.config.PORT, kit.config.HOST, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address}:${port}`;
  kit.logger.info({ address: url }, `${kit.service} listening`);
  kit.shutdown.register(
    'intake',
    'http server',
    () =>
      new Promise<void>((resolve) => {
        // Keep-alive sockets that turn idle after close() (their request just answered) would
        // otherwise hold it until keepAliveTimeout.
        const sweeper = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearInterval(sweeper);
          resolve();
        });
        server.closeIdleConnections();
      }),
  );
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (kit.shutdown.started) {
        kit.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void kit.shutdown.run(signal).then((report) => process.exit(report.ok ? 0 : 1));
    });
  }
  return { address: url, stop: (reason = 'stop') => kit.shutdown.run(reason) };
}
