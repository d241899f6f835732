import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import Type, { type Static, type TSchema } from 'typebox';
import { errorResponses } from '../errors.js';
import type { VariantName } from '../flags/catalogue.js';
import { FlagState, type FlagStore, flagNamed, SetFlagBody } from '../flags/store.js';
import { type Health, HealthReport, LivenessReport } from '../health.js';
import type { Metrics } from '../metrics/registry.js';
import { type StressHarness, StressRunView, StressStarted } from '../stress.js';

/** HTTP methods kit routes use. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The schemas of a route: what it takes and every answer it gives. */
export interface RouteSchema {
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  response: Record<number, TSchema>;
}

/** What a route handler returns; each framework adapter sends it. */
export interface RouteAnswer {
  statusCode: number;
  body: unknown;
  /** Default application/json. */
  contentType?: string;
}

/** Who is asking: the request id, a logger carrying it, the raw headers. */
export interface RouteContext {
  requestId: string;
  log: Logger;
  headers: IncomingHttpHeaders;
}

/** The already validated inputs of a route (defaults applied, params and query coerced). */
export interface RouteInput<S extends RouteSchema> {
  params: S['params'] extends TSchema ? Static<S['params']> : Record<string, never>;
  query: S['querystring'] extends TSchema ? Static<S['querystring']> : Record<string, never>;
  body: S['body'] extends TSchema ? Static<S['body']> : undefined;
  context: RouteContext;
}

/**
 * A framework-neutral route: the Fastify plugins and the Express router both mount the same
 * table, so the two frameworks answer alike and no route logic is written twice.
 */
export interface KitRoute<S extends RouteSchema = RouteSchema> {
  method: HttpMethod;
  /** Relative to the service prefix, with `:param` placeholders. */
  url: string;
  /** Requires the admin token (checked before the body is even parsed). */
  admin: boolean;
  summary: string;
  tags: string[];
  schema: S;
  /** The body to use when the request has none (stress knobs: all defaults). */
  emptyBody?: unknown;
  handler(input: RouteInput<S>): RouteAnswer | Promise<RouteAnswer>;
}

/**
 * Declares a route once for both frameworks, its handler typed from its schemas. The kit's
 * own routes are written this way; a service may write its routes this way too and mount
 * them with `mountRoutes` (Fastify) or `kit.mount` (Express).
 *
 * @example
 * ```ts
 * export const getItem = defineRoute({
 *   method: 'GET',
 *   url: '/items/:id',
 *   admin: false,
 *   summary: 'One menu item',
 *   tags: ['menu'],
 *   schema: { params: Type.Object({ id: Type.String() }), response: { 200: Item, ...errorResponses(404) } },
 *   handler: async ({ params }) => ({ statusCode: 200, body: await items.get(params.id) }),
 * });
 * ```
 */
export function defineRoute<S extends RouteSchema>(route: KitRoute<S>): KitRoute {
  return route as unknown as KitRoute;
}

const FlagParams = Type.Object({ name: Type.String({ minLength: 1 }) });
const RunParams = Type.Object({ runId: Type.String({ minLength: 1 }) });

/** `GET /health`, `/health/live`, `/health/ready`. */
export function healthRoutes(health: Health): KitRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/health',
      admin: false,
      summary: 'Runs every dependency check: 200 when all pass, 503 with the failing ones',
      tags: ['health'],
      schema: { response: { 200: HealthReport, 503: HealthReport } },
      handler: () => health.check(),
    }),
    defineRoute({
      method: 'GET',
      url: '/health/live',
      admin: false,
      summary: 'Liveness: 200 while the process can answer',
      tags: ['health'],
      schema: { response: { 200: LivenessReport } },
      handler: () => ({ statusCode: 200, body: health.live() }),
    }),
    defineRoute({
      method: 'GET',
      url: '/health/ready',
      admin: false,
      summary: 'Readiness: 503 while shutting down or when a readiness check fails',
      tags: ['health'],
      schema: { response: { 200: HealthReport, 503: HealthReport } },
      handler: () => health.ready(),
    }),
  ];
}

/** `GET /metrics` in Prometheus text format. */
export function metricsRoutes(metrics: Metrics): KitRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/metrics',
      admin: false,
      summary: 'Every recorded metric in Prometheus text format',
      tags: ['metrics'],
      schema: { response: { 200: Type.String({ description: 'Prometheus exposition text' }) } },
      handler: async () => {
        const { contentType, body } = await metrics.prometheus();
        return { statusCode: 200, body, contentType };
      },
    }),
  ];
}

/** `GET /admin/flags`, `PUT /admin/flags/:name`, `DELETE /admin/flags/:name` (admin only). */
export function flagRoutes(flags: FlagStore): KitRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/admin/flags',
      admin: true,
      summary: 'Every fault flag with its variants, the active one and its expiry',
      tags: ['fault flags'],
      schema: { response: { 200: Type.Object({ flags: Type.Array(FlagState) }), ...errorResponses(401) } },
      handler: () => ({ statusCode: 200, body: { flags: flags.list() } }),
    }),
    defineRoute({
      method: 'PUT',
      url: '/admin/flags/:name',
      admin: true,
      summary: 'Sets a flag to a variant for ttlSeconds; it reverts to off by itself',
      tags: ['fault flags'],
      schema: {
        params: FlagParams,
        body: SetFlagBody,
        response: { 200: FlagState, ...errorResponses(400, 401, 404) },
      },
      handler: ({ params, body }) => {
        const name = flagNamed(params.name);
        // An unchecked label from the request: set() checks it and answers 400 with the valid ones.
        const variant = body.variant as VariantName<typeof name>;
        return { statusCode: 200, body: flags.set(name, variant, body.ttlSeconds) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/admin/flags/:name',
      admin: true,
      summary: 'Reverts a flag to off now',
      tags: ['fault flags'],
      schema: { params: FlagParams, response: { 200: FlagState, ...errorResponses(401, 404) } },
      handler: ({ params }) => ({ statusCode: 200, body: flags.clear(flagNamed(params.name)) }),
    }),
  ];
}

const ScenarioList = Type.Object({
  scenarios: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Type.String(),
      maxDurationMs: Type.Number(),
      knobs: Type.Unknown({ description: 'The JSON schema of the knobs' }),
    }),
  ),
  active: Type.Optional(StressRunView),
});

/**
 * `GET /stress` and, per scenario, `POST /stress/<name>`, `GET /stress/<name>/runs/:runId`,
 * `POST /stress/<name>/runs/:runId/cancel` (all admin only).
 */
export function stressRoutes(harness: StressHarness): KitRoute[] {
  const routes: KitRoute[] = [
    defineRoute({
      method: 'GET',
      url: '/stress',
      admin: true,
      summary: 'The stress scenarios of this service, their knobs and the active run',
      tags: ['stress'],
      schema: { response: { 200: ScenarioList, ...errorResponses(401) } },
      handler: () => {
        const active = harness.active();
        return {
          statusCode: 200,
          body: {
            scenarios: harness.scenarios.map(({ name, description, maxDurationMs, knobs }) => ({
              name,
              description,
              maxDurationMs,
              knobs,
            })),
            ...(active && { active }),
          },
        };
      },
    }),
  ];
  for (const scenario of harness.scenarios) {
    const base = `/stress/${scenario.name}`;
    routes.push(
      defineRoute({
        method: 'POST',
        url: base,
        admin: true,
        summary: `Starts ${scenario.name}: ${scenario.description}`,
        tags: ['stress'],
        schema: { body: scenario.knobs, response: { 202: StressStarted, ...errorResponses(400, 401, 409) } },
        emptyBody: {},
        handler: ({ body }) => ({ statusCode: 202, body: harness.start(scenario.name, body) }),
      }),
      defineRoute({
        method: 'GET',
        url: `${base}/runs/:runId`,
        admin: true,
        summary: `State, progress and result of a ${scenario.name} run`,
        tags: ['stress'],
        schema: { params: RunParams, response: { 200: StressRunView, ...errorResponses(401, 404) } },
        handler: ({ params }) => ({ statusCode: 200, body: harness.get(scenario.name, params.runId) }),
      }),
      defineRoute({
        method: 'POST',
        url: `${base}/runs/:runId/cancel`,
        admin: true,
        summary: `Cancels a running ${scenario.name} run; it turns cancelled once its work stops`,
        tags: ['stress'],
        schema: { params: RunParams, response: { 202: StressRunView, ...errorResponses(401, 404, 409) } },
        handler: ({ params }) => ({ statusCode: 202, body: harness.cancel(scenario.name, params.runId) }),
      }),
    );
  }
  return routes;
}
