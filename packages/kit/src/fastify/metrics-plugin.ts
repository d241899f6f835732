import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { metricsRoutes } from '../http/routes.js';
import { createCloudWatchExporter } from '../metrics/cloudwatch.js';
import { createMetrics, type Metrics } from '../metrics/registry.js';
import { mountRoutes } from './mount.js';
import './types.js';

/**
 * Decorates `app.metrics`, records every answered request (`http_requests_total`,
 * `http_request_duration_ms`, `http_errors_total`, labelled by method, route pattern and
 * status), serves `GET /api/<svc>/metrics` (Prometheus text) and, with
 * `METRICS_CLOUDWATCH=on`, flushes to CloudWatch every `METRICS_FLUSH_INTERVAL_MS` and once
 * more in the shutdown's flush phase.
 *
 * @example
 * ```ts
 * app.metrics.inc('orders_accepted_total');
 * ```
 */
export const metricsPlugin = fp<{ metrics?: Metrics }>(
  async (app, options) => {
    const metrics =
      options.metrics ?? createMetrics({ service: app.cafe.service, platform: app.config.PLATFORM });
    app.decorate('metrics', metrics);

    app.addHook('onResponse', async (request, reply) => {
      // Unmatched URLs share one label: arbitrary paths must not become arbitrary series.
      const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
      const status = reply.statusCode;
      const labels = { method: request.method, route, status };
      metrics.inc('http_requests_total', labels);
      metrics.observe('http_request_duration_ms', labels, reply.elapsedTime);
      if (status >= 400) {
        metrics.inc('http_errors_total', {
          method: request.method,
          route,
          status_class: `${Math.floor(status / 100)}xx`,
        });
      }
    });

    mountRoutes(app, app.cafe.prefix, metricsRoutes(metrics));

    if (app.config.METRICS_CLOUDWATCH === 'on') {
      const exporter = createCloudWatchExporter({
        metrics,
        client: app.aws.cloudwatch,
        logger: app.log as unknown as Logger,
        intervalMs: app.config.METRICS_FLUSH_INTERVAL_MS,
      });
      exporter.start();
      app.shutdown.register('flush', 'cloudwatch metrics', () => exporter.stop());
    }
    app.shutdown.register('flush', 'process samplers', () => metrics.close());
  },
  { name: 'cafe-metrics', fastify: '5.x', dependencies: ['cafe-config', 'cafe-aws', 'cafe-shutdown'] },
);
