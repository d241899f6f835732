import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { createShutdown, type Shutdown } from '../shutdown.js';
import './types.js';

/**
 * Decorates `app.shutdown` (ordered, bounded by `SHUTDOWN_TIMEOUT_MS`) and registers the
 * intake step: close the server, which stops accepting connections and answers the requests
 * in flight. Signals are not handled here: `startServer` installs them.
 *
 * @example
 * ```ts
 * app.shutdown.register('consumers', 'order results poller', (signal) => poller.stop(signal));
 * ```
 */
export const shutdownPlugin = fp<{ shutdown?: Shutdown }>(
  async (app, options) => {
    const shutdown =
      options.shutdown ??
      createShutdown({ timeoutMs: app.config.SHUTDOWN_TIMEOUT_MS, logger: app.log as unknown as Logger });
    app.decorate('shutdown', shutdown);
    shutdown.register('intake', 'http server', async () => {
      // close() closes the keep-alive sockets idle at that moment; one that turns idle later
      // (its in-flight request just answered) would hold close() until keepAliveTimeout.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await app.close();
      } finally {
        clearInterval(sweeper);
      }
    });
  },
  { name: 'cafe-shutdown', fastify: '5.x', dependencies: ['cafe-config'] },
);
