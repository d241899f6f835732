import type { FastifyInstance, onRequestHookHandler, preValidationHookHandler } from 'fastify';
import type { KitRoute, RouteInput, RouteSchema } from '../http/routes.js';

/**
 * Mounts framework-neutral routes (see `defineRoute`) on a Fastify instance under `prefix`:
 * the admin check runs first (onRequest), then validation, then the route's handler.
 *
 * @example
 * ```ts
 * mountRoutes(app, app.cafe.prefix, [getItem, listItems]);
 * ```
 */
export function mountRoutes(app: FastifyInstance, prefix: string, routes: readonly KitRoute[]): void {
  for (const route of routes) {
    const onRequest: onRequestHookHandler[] = route.admin ? [app.requireAdmin] : [];
    const preValidation: preValidationHookHandler[] = [];
    if (route.emptyBody !== undefined) {
      const empty = route.emptyBody;
      preValidation.push(async (request) => {
        if (request.body === undefined || request.body === null) request.body = structuredClone(empty);
      });
    }
    app.route({
      method: route.method,
      url: `${prefix}${route.url}`,
      schema: { ...route.schema, summary: route.summary, tags: route.tags } as RouteSchema,
      config: { cafeAdmin: route.admin },
      onRequest,
      preValidation,
      handler: async (request, reply) => {
        const input = {
          params: request.params,
          query: request.query,
          body: request.body,
          context: { requestId: request.id, log: request.log, headers: request.headers },
        } as RouteInput<RouteSchema>;
        const answer = await route.handler(input);
        reply.code(answer.statusCode);
        if (answer.contentType) reply.type(answer.contentType);
        return answer.body;
      },
    });
  }
}
