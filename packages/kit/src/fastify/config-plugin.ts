import fp from 'fastify-plugin';
import { createAwsClients } from '../aws.js';
import type { KitConfig } from '../config.js';
import type { Metrics } from '../metrics/registry.js';
import { type ServiceName, servicePrefix } from '../services.js';
import './types.js';

/** Options of {@link configPlugin}. */
export interface ConfigPluginOptions {
  service: ServiceName;
  config: KitConfig;
}

/**
 * Decorates `app.config` (the validated configuration) and `app.cafe` (service name and
 * route prefix). Every other kit plugin depends on it.
 *
 * @example
 * ```ts
 * await app.register(configPlugin, { service: 'order', config });
 * app.cafe.prefix; // '/api/orders'
 * ```
 */
export const configPlugin = fp<ConfigPluginOptions>(
  async (app, options) => {
    if (options.config.SERVICE_NAME !== options.service) {
      throw new Error(
        `SERVICE_NAME is ${options.config.SERVICE_NAME} but this is the ${options.service} service`,
      );
    }
    app.decorate('config', options.config);
    app.decorate('cafe', { service: options.service, prefix: servicePrefix(options.service) });
  },
  { name: 'cafe-config', fastify: '5.x' },
);

/**
 * Decorates `app.aws`: lazily created AWS clients with the configured region; endpoints come
 * from `AWS_ENDPOINT_URL*` (read by the SDK). Destroyed in the shutdown's resources phase.
 * Given `metrics` (the registry `metricsPlugin` will decorate), every command is counted in
 * `aws_calls_total`; it is passed in because `metricsPlugin` itself needs `app.aws`.
 *
 * @example
 * ```ts
 * await app.aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody }));
 * ```
 */
export const awsPlugin = fp<{ metrics?: Metrics }>(
  async (app, options) => {
    const aws = createAwsClients({
      region: app.config.AWS_REGION,
      s3ForcePathStyle: app.config.AWS_S3_FORCE_PATH_STYLE === 'on',
      ...(options.metrics && { metrics: options.metrics }),
    });
    app.decorate('aws', aws);
    app.shutdown.register('resources', 'aws clients', () => aws.destroy());
  },
  { name: 'cafe-aws', fastify: '5.x', dependencies: ['cafe-config', 'cafe-shutdown'] },
);
