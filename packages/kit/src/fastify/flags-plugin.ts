import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { createFlagStore } from '../flags/store.js';
import { flagRoutes } from '../http/routes.js';
import { mountRoutes } from './mount.js';
import './types.js';

/**
 * Decorates `app.flags` and serves the admin routes `GET /api/<svc>/admin/flags`,
 * `PUT /api/<svc>/admin/flags/:name {variant, ttlSeconds}` and `DELETE …/:name`.
 *
 * @example
 * ```ts
 * if (app.flags.value('cache-bypass')) return loadFromMongo(id);
 * ```
 */
export const flagsPlugin = fp(
  async (app) => {
    const flags = createFlagStore({
      service: app.cafe.service,
      metrics: app.metrics,
      logger: app.log as unknown as Logger,
    });
    app.decorate('flags', flags);
    app.addHook('onClose', async () => flags.close());
    mountRoutes(app, app.cafe.prefix, flagRoutes(flags));
  },
  { name: 'cafe-flags', fastify: '5.x', dependencies: ['cafe-config', 'cafe-metrics', 'cafe-admin-auth'] },
);
