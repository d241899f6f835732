import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { stressRoutes } from '../http/routes.js';
import { createStressHarness, type StressScenario } from '../stress.js';
import { mountRoutes } from './mount.js';
import './types.js';

/** Options of {@link stressPlugin}. */
export interface StressPluginOptions {
  scenarios: readonly StressScenario[];
  /** After its signal fires, how long a run may take to stop before it is marked failed. */
  stopGraceMs?: number;
}

/**
 * Decorates `app.stress` and serves, per scenario, `POST /api/<svc>/stress/<name>`,
 * `GET …/runs/:runId` and `POST …/runs/:runId/cancel`, plus `GET /api/<svc>/stress` (all
 * admin only). The active run is cancelled in the shutdown's drain phase.
 *
 * @example
 * ```ts
 * await app.register(stressPlugin, { scenarios: [morningRush] });
 * ```
 */
export const stressPlugin = fp<StressPluginOptions>(
  async (app, options) => {
    const stress = createStressHarness({
      scenarios: options.scenarios,
      logger: app.log as unknown as Logger,
      metrics: app.metrics,
      ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
    });
    app.decorate('stress', stress);
    mountRoutes(app, app.cafe.prefix, stressRoutes(stress));
    app.shutdown.register('drain', 'stress run', (signal) => stress.stop(signal));
  },
  {
    name: 'cafe-stress',
    fastify: '5.x',
    dependencies: ['cafe-config', 'cafe-metrics', 'cafe-admin-auth', 'cafe-shutdown'],
  },
);
