import fp from 'fastify-plugin';
import Type from 'typebox';
import { buildOpenApiDocument, type RouteDoc } from '../http/openapi.js';
import './types.js';

/**
 * Serves `GET /api/<svc>/openapi.json`, generated from the schemas of every route registered
 * after it (register it first). Admin routes are marked with the bearer security scheme.
 *
 * @example
 * ```ts
 * await app.register(openapiPlugin, { version: '0.1.0' });
 * ```
 */
export const openapiPlugin = fp<{ version?: string }>(
  async (app, options) => {
    const routes: RouteDoc[] = [];
    app.addHook('onRoute', (route) => {
      const schema = (route.schema ?? {}) as RouteDoc['schema'] & { summary?: string; tags?: string[] };
      for (const method of [route.method].flat()) {
        routes.push({
          method,
          url: route.url,
          admin: route.config?.cafeAdmin === true,
          internal: route.config?.cafeInternal === true,
          ...(schema?.summary && { summary: schema.summary }),
          ...(schema?.tags && { tags: schema.tags }),
          schema,
        });
      }
    });
    const title = `CloudCafe ${app.cafe.service}`;
    const version = options.version ?? '0.1.0';
    app.get(
      `${app.cafe.prefix}/openapi.json`,
      { schema: { summary: 'This document', tags: ['meta'], response: { 200: Type.Unknown() } } },
      async () => buildOpenApiDocument({ title, version, routes }),
    );
  },
  { name: 'cafe-openapi', fastify: '5.x', dependencies: ['cafe-config'] },
);
