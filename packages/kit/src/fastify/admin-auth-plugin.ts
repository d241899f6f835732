import fp from 'fastify-plugin';
import { createAdminAuth, createServiceAuth } from '../admin-auth.js';
import './types.js';

/**
 * Decorates `app.requireAdmin`, an onRequest hook that answers 401 `CAFE_ERR_UNAUTHORIZED`
 * unless `Authorization: Bearer <ADMIN_TOKEN>` is presented, and `app.requireService`, the
 * same for internal routes, which take the service credential (`SERVICE_TOKEN`) or the admin
 * token. Both run before the body is parsed.
 *
 * @example
 * ```ts
 * app.post('/api/orders/admin/replay', { onRequest: [app.requireAdmin], schema }, handler);
 * ```
 */
export const adminAuthPlugin = fp(
  async (app) => {
    const auth = createAdminAuth(app.config.ADMIN_TOKEN);
    const internal = createServiceAuth(app.config.ADMIN_TOKEN, app.config.SERVICE_TOKEN);
    app.decorate('requireAdmin', async (request) => auth.assert(request.headers.authorization));
    app.decorate('requireService', async (request) => internal.assert(request.headers.authorization));
  },
  { name: 'cafe-admin-auth', fastify: '5.x', dependencies: ['cafe-config'] },
);
