import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { MetadataBearer } from '@smithy/types';
import { countAwsCalls, validateExpressions, type WithMiddlewareStack } from './aws-middleware.js';
import type { Metrics } from './metrics/registry.js';

/** The AWS APIs CloudCafe calls, one client each; the `api` label of `aws_calls_total`. */
export const AWS_APIS = ['sqs', 'dynamodb', 'kinesis', 's3', 'cloudwatch'] as const;
export type AwsApi = (typeof AWS_APIS)[number];

/** Timeouts and retries every client shares unless told otherwise. */
export const AWS_CLIENT_DEFAULTS = {
  maxAttempts: 3,
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 5000,
} as const;

/** Options for {@link createAwsClients}. */
export interface AwsClientsOptions {
  /** From config: `AWS_REGION`. */
  region: string;
  /** Path-style S3 URLs (config `AWS_S3_FORCE_PATH_STYLE`), for emulators. */
  s3ForcePathStyle?: boolean;
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * Reuse connections between calls (default true). Off, every call opens its own, so a
   * refused connection proves the call never reached the API, which a reset on a reused
   * socket the server had closed cannot.
   */
  keepAlive?: boolean;
  /** Counts every command sent, by API and operation, in `aws_calls_total`. */
  metrics?: Metrics;
}

/** The AWS SDK v3 clients CloudCafe uses, each created on first use and then reused. */
export interface AwsClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
  /** DynamoDB with plain JS values (`removeUndefinedValues` on). */
  readonly documentClient: DynamoDBDocumentClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
  /** Closes the sockets of every client created so far. */
  destroy(): void;
}

/**
 * Lazily created, cached AWS clients with the region from config, bounded retries and
 * timeouts. No endpoint is set here: the SDK itself reads `AWS_ENDPOINT_URL` and
 * `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_SQS`), which is how the local lab points
 * services at its emulator while the same code talks to AWS elsewhere.
 *
 * DynamoDB requests are refused with DynamoDB's `ValidationException` when their expression
 * attribute names or values do not match their expressions, which the emulator lets through.
 * With `metrics`, every command of every client is counted in `aws_calls_total`.
 *
 * @example
 * ```ts
 * const aws = createAwsClients({ region: config.AWS_REGION, metrics });
 * await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody }));
 * ```
 */
export function createAwsClients(options: AwsClientsOptions): AwsClients {
  const created: { destroy(): void }[] = [];
  const cache = new Map<string, unknown>();
  const requestHandler = () =>
    // An explicit HTTP/1.1 handler: Kinesis otherwise defaults to HTTP/2, which the local
    // emulator does not speak (only SubscribeToShard needs HTTP/2, and CloudCafe polls).
    new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? AWS_CLIENT_DEFAULTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? AWS_CLIENT_DEFAULTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
      httpAgent: { keepAlive: options.keepAlive ?? true, maxSockets: 50 },
      httpsAgent: { keepAlive: options.keepAlive ?? true, maxSockets: 50 },
    });
  const common = () => ({
    region: options.region,
    maxAttempts: options.maxAttempts ?? AWS_CLIENT_DEFAULTS.maxAttempts,
    retryMode: 'standard',
    requestHandler: requestHandler(),
  });
  const counted = <C extends WithMiddlewareStack<object, MetadataBearer>>(api: AwsApi, client: C): C => {
    if (options.metrics) countAwsCalls(client, api, options.metrics);
    return client;
  };
  const lazily = <T extends { destroy(): void }>(key: string, create: () => T): T => {
    let client = cache.get(key) as T | undefined;
    if (!client) {
      client = create();
      cache.set(key, client);
      created.push(client);
    }
    return client;
  };

  const clients: AwsClients = {
    get sqs() {
      return lazily('sqs', () => counted('sqs', new SQSClient(common())));
    },
    get dynamodb() {
      return lazily('dynamodb', () => {
        const client = counted('dynamodb', new DynamoDBClient(common()));
        validateExpressions(client);
        return client;
      });
    },
    get documentClient() {
      return lazily('documentClient', () =>
        DynamoDBDocumentClient.from(clients.dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
      );
    },
    get kinesis() {
      return lazily('kinesis', () => counted('kinesis', new KinesisClient(common())));
    },
    get s3() {
      return lazily('s3', () =>
        counted('s3', new S3Client({ ...common(), forcePathStyle: options.s3ForcePathStyle ?? false })),
      );
    },
    get cloudwatch() {
      return lazily('cloudwatch', () => counted('cloudwatch', new CloudWatchClient(common())));
    },
    destroy() {
      for (const client of created.splice(0)) client.destroy();
      cache.clear();
    },
  };
  return clients;
}
