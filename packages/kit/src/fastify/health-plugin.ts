import fp from 'fastify-plugin';
import { createHealth } from '../health.js';
import { healthRoutes } from '../http/routes.js';
import { mountRoutes } from './mount.js';
import './types.js';

/**
 * Decorates `app.health` and serves `GET /api/<svc>/health` (every check: 200 or 503 with the
 * failing ones), `/health/live` and `/health/ready` (503 from the first moment of shutdown).
 *
 * @example
 * ```ts
 * app.health.register('redis', () => redis.ping(), { timeoutMs: 500 });
 * ```
 */
export const healthPlugin = fp(
  async (app) => {
    const health = createHealth({
      service: app.cafe.service,
      onFailure: (check, err) => app.log.warn({ err, check }, 'health check failed'),
    });
    app.decorate('health', health);
    mountRoutes(app, app.cafe.prefix, healthRoutes(health));
    app.shutdown.register('intake', 'readiness', () => health.markShuttingDown());
  },
  { name: 'cafe-health', fastify: '5.x', dependencies: ['cafe-config', 'cafe-shutdown'] },
);
