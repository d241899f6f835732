import type { KitConfig } from '../config.js';
import type { Shutdown, ShutdownReport } from '../shutdown.js';
import type { ServiceApp } from './types.js';

/** Options for {@link startServer}; both default to the app's own decorations. */
export interface StartServerOptions {
  config?: KitConfig;
  shutdown?: Shutdown;
  /** Default SIGTERM and SIGINT. */
  signals?: readonly NodeJS.Signals[];
}

/** A listening server. */
export interface RunningServer {
  /** e.g. `http://127.0.0.1:3001`. */
  address: string;
  /** Runs the graceful shutdown (as a signal would) and resolves with its report. */
  stop(reason?: string): Promise<ShutdownReport>;
}

/**
 * The thin server entry: listens on `HOST:PORT` and installs SIGTERM/SIGINT, which run the
 * graceful shutdown and then exit (0 if every step finished in time, 1 otherwise; a second
 * signal exits at once). Nothing else in the kit listens or touches signals.
 *
 * @example
 * ```ts
 * // services/order/src/server.ts
 * const config = loadConfig(OrderConfigSchema);
 * const app = await buildApp(config);
 * await startServer(app);
 * ```
 */
export async function startServer(app: ServiceApp, options: StartServerOptions = {}): Promise<RunningServer> {
  const config = options.config ?? app.config;
  const shutdown = options.shutdown ?? app.shutdown;
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info({ address }, `${app.cafe.service} listening`);

  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (shutdown.started) {
        app.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      void shutdown.run(signal).then((report) => process.exit(report.ok ? 0 : 1));
    });
  }
  return { address, stop: (reason = 'stop') => shutdown.run(reason) };
}
