/**
 * The lab's AWS resources, listed once, and the idempotent provisioning that creates them on the
 * local emulator at every `lab up`. Services import the names from here instead of retyping
 * strings; on the `aws` platform CDK creates the same names.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BUCKETS,
  ORDER_EVENTS_SHARDS,
  PAYMENT_MAX_RECEIVE_COUNT,
  QUEUES,
  STREAMS,
  TABLE_PARTITION_KEYS,
  TABLES,
} from '@cloudcafe/contracts';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Region and credentials of the local lab. The emulator accepts any; these are the usual ones. */
export const LOCAL_AWS_REGION = 'us-east-1';
export const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

// The names are a contract between the services, this lab and CDK: defined once, there.
export { BUCKETS, QUEUES, STREAMS, TABLES };

/** An SQS queue; a name ending in `.fifo` makes a FIFO queue (AWS requires that suffix). */
export interface QueueResource {
  readonly kind: 'sqs-queue';
  readonly name: string;
  readonly visibilityTimeoutSeconds: number;
  /** Seconds a message is kept; DLQs keep longer so someone has time to look. */
  readonly retentionSeconds?: number;
  /** The queue (listed before this one) that receives messages after `maxReceiveCount` receives. */
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number };
}

/** A DynamoDB table, on demand, with a partition key only. */
export interface TableResource {
  readonly kind: 'dynamodb-table';
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' | 'B' };
}

export interface StreamResource {
  readonly kind: 'kinesis-stream';
  readonly name: string;
  readonly shardCount: number;
}

export interface BucketResource {
  readonly kind: 's3-bucket';
  readonly name: string;
}

export type AwsResource = QueueResource | TableResource | StreamResource | BucketResource;

const FOURTEEN_DAYS_S = 14 * 24 * 3600;

/** Every AWS resource of the lab. A dead-letter queue comes before the queue that uses it. */
export const AWS_RESOURCES: readonly AwsResource[] = [
  {
    kind: 'sqs-queue',
    name: QUEUES.paymentRequestsDlq,
    visibilityTimeoutSeconds: 30,
    retentionSeconds: FOURTEEN_DAYS_S,
  },
  {
    kind: 'sqs-queue',
    name: QUEUES.paymentRequests,
    visibilityTimeoutSeconds: 30,
    deadLetter: { queue: QUEUES.paymentRequestsDlq, maxReceiveCount: PAYMENT_MAX_RECEIVE_COUNT },
  },
  { kind: 'sqs-queue', name: QUEUES.paymentResults, visibilityTimeoutSeconds: 30 },
  {
    kind: 'dynamodb-table',
    name: TABLES.inventory,
    partitionKey: { name: TABLE_PARTITION_KEYS.inventory, type: 'S' },
  },
  {
    kind: 'dynamodb-table',
    name: TABLES.reservations,
    partitionKey: { name: TABLE_PARTITION_KEYS.reservations, type: 'S' },
  },
  {
    kind: 'dynamodb-table',
    name: TABLES.payments,
    partitionKey: { name: TABLE_PARTITION_KEYS.payments, type: 'S' },
  },
  {
    kind: 'dynamodb-table',
    name: TABLES.kinesisLeases,
    partitionKey: { name: TABLE_PARTITION_KEYS.kinesisLeases, type: 'S' },
  },
  { kind: 'kinesis-stream', name: STREAMS.orderEvents, shardCount: ORDER_EVENTS_SHARDS },
  { kind: 's3-bucket', name: BUCKETS.receipts },
];

/** Which AWS API holds each kind of resource (and so which endpoint provisions it). */
export const RESOURCE_SERVICE = {
  'sqs-queue': 'sqs',
  'dynamodb-table': 'dynamodb',
  'kinesis-stream': 'kinesis',
  's3-bucket': 's3',
} as const satisfies Record<AwsResource['kind'], string>;

export type ProvisionedService = (typeof RESOURCE_SERVICE)[AwsResource['kind']];

export interface ProvisionOptions {
  /** The emulator's URL, e.g. `http://127.0.0.1:4566`. */
  readonly endpoint: string;
  /** Per-service endpoints, where a service runs in another emulator than `endpoint`. */
  readonly endpoints?: Partial<Record<ProvisionedService, string>>;
  /** Defaults to {@link AWS_RESOURCES}; tests pass their own uniquely named list. */
  readonly resources?: readonly AwsResource[];
  /** How long to wait for a table or stream to become ACTIVE (default 30 s). */
  readonly activeTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export type ProvisionOutcome = 'created' | 'updated' | 'present';

export interface ProvisionResult {
  readonly resource: AwsResource;
  readonly outcome: ProvisionOutcome;
}

/**
 * Creates every resource that is missing and brings a queue's mutable attributes back to the
 * list; anything already right is left alone, so this is safe to run on every `lab up`.
 * A table or stream whose key or shard count differs from the list is an error: changing those
 * in place would lose data, so the message asks for a fresh emulator instead.
 *
 * @example
 * await provisionAwsResources({ endpoint: 'http://127.0.0.1:4566', log: console.log });
 */
export async function provisionAwsResources(options: ProvisionOptions): Promise<ProvisionResult[]> {
  const endpointOf = (service: ProvisionedService): string =>
    options.endpoints?.[service] ?? options.endpoint;
  const base = { region: LOCAL_AWS_REGION, credentials: LOCAL_AWS_CREDENTIALS };
  const sqs = new SQSClient({ ...base, endpoint: endpointOf('sqs') });
  const dynamodb = new DynamoDBClient({ ...base, endpoint: endpointOf('dynamodb') });
  // The Kinesis client defaults to HTTP/2, which over plain http (h2c) no emulator here speaks.
  const kinesis = new KinesisClient({
    ...base,
    endpoint: endpointOf('kinesis'),
    requestHandler: new NodeHttpHandler(),
  });
  const s3 = new S3Client({ ...base, endpoint: endpointOf('s3'), forcePathStyle: true });
  const activeTimeoutMs = options.activeTimeoutMs ?? 30_000;
  const results: ProvisionResult[] = [];
  try {
    // In list order: a dead-letter queue must exist before the queue whose redrive names it.
    for (const resource of options.resources ?? AWS_RESOURCES) {
      let outcome: ProvisionOutcome;
      switch (resource.kind) {
        case 'sqs-queue':
          outcome = await provisionQueue(sqs, resource);
          break;
        case 'dynamodb-table':
          outcome = await provisionTable(dynamodb, resource, activeTimeoutMs);
          break;
        case 'kinesis-stream':
          outcome = await provisionStream(kinesis, resource, activeTimeoutMs);
          break;
        case 's3-bucket':
          outcome = await provisionBucket(s3, resource);
          break;
      }
      options.log?.(`${resource.kind} ${resource.name}: ${outcome}`);
      results.push({ resource, outcome });
    }
  } finally {
    for (const client of [sqs, dynamodb, kinesis, s3]) client.destroy();
  }
  return results;
}

async function queueUrlOf(sqs: SQSClient, name: string): Promise<string | undefined> {
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    // The JSON protocol names it QueueDoesNotExist; older Query-speaking emulators use the long code.
    if (
      errorName(error) === 'QueueDoesNotExist' ||
      errorName(error) === 'AWS.SimpleQueueService.NonExistentQueue'
    )
      return undefined;
    throw error;
  }
}

async function provisionQueue(sqs: SQSClient, queue: QueueResource): Promise<ProvisionOutcome> {
  const wanted: Partial<Record<QueueAttributeName, string>> = {
    VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
  };
  if (queue.retentionSeconds !== undefined) wanted.MessageRetentionPeriod = String(queue.retentionSeconds);
  if (queue.deadLetter) {
    const dlqUrl = await queueUrlOf(sqs, queue.deadLetter.queue);
    if (!dlqUrl) {
      throw new Error(
        `queue ${queue.name}: its dead-letter queue ${queue.deadLetter.queue} does not exist; list it first`,
      );
    }
    const dlq = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    wanted.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: dlq.Attributes?.QueueArn,
      maxReceiveCount: queue.deadLetter.maxReceiveCount,
    });
  }

  const url = await queueUrlOf(sqs, queue.name);
  if (!url) {
    const fifo = queue.name.endsWith('.fifo');
    await sqs.send(
      new CreateQueueCommand({
        QueueName: queue.name,
        // Producers set MessageDeduplicationId (the order id); content-based dedup would hide
        // two different orders that happen to serialise alike.
        Attributes: fifo ? { ...wanted, FifoQueue: 'true', ContentBasedDeduplication: 'false' } : wanted,
      }),
    );
    return 'created';
  }

  const current = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
    .Attributes;
  // An attribute the emulator does not report is one it does not keep (ElasticMQ has no
  // MessageRetentionPeriod): setting it again on every run would only report a false drift.
  const drifted = (Object.entries(wanted) as [QueueAttributeName, string][]).filter(
    ([key, value]) => current?.[key] !== undefined && !sameAttribute(key, current[key], value),
  );
  if (drifted.length === 0) return 'present';
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: Object.fromEntries(drifted) }));
  return 'updated';
}

/** RedrivePolicy comes back as JSON whose maxReceiveCount may be a string or a number. */
function sameAttribute(key: string, actual: string, wanted: string): boolean {
  if (key !== 'RedrivePolicy') return actual === wanted;
  const a = JSON.parse(actual) as { deadLetterTargetArn?: string; maxReceiveCount?: string | number };
  const w = JSON.parse(wanted) as { deadLetterTargetArn?: string; maxReceiveCount?: string | number };
  return (
    a.deadLetterTargetArn === w.deadLetterTargetArn && Number(a.maxReceiveCount) === Number(w.maxReceiveCount)
  );
}

async function provisionTable(
  dynamodb: DynamoDBClient,
  table: TableResource,
  activeTimeoutMs: number,
): Promise<ProvisionOutcome> {
  const wantedKey: KeySchemaElement[] = [{ AttributeName: table.partitionKey.name, KeyType: 'HASH' }];
  const existing = await describeTable(dynamodb, table.name);
  if (existing) {
    const key = existing.KeySchema ?? [];
    if (key.length !== 1 || key[0]?.AttributeName !== table.partitionKey.name || key[0]?.KeyType !== 'HASH') {
      throw new Error(
        `table ${table.name} exists with key ${JSON.stringify(key)}, the list wants ${JSON.stringify(wantedKey)}; ` +
          'a key cannot change in place: restart the AWS emulator with a clean state',
      );
    }
    await waitFor(`table ${table.name} ACTIVE`, activeTimeoutMs, async () => {
      return (await describeTable(dynamodb, table.name))?.TableStatus === 'ACTIVE';
    });
    return 'present';
  }
  await dynamodb.send(
    new CreateTableCommand({
      TableName: table.name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: table.partitionKey.name, AttributeType: table.partitionKey.type },
      ],
      KeySchema: wantedKey,
    }),
  );
  await waitFor(`table ${table.name} ACTIVE`, activeTimeoutMs, async () => {
    return (await describeTable(dynamodb, table.name))?.TableStatus === 'ACTIVE';
  });
  return 'created';
}

async function describeTable(dynamodb: DynamoDBClient, name: string) {
  try {
    return (await dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function provisionStream(
  kinesis: KinesisClient,
  stream: StreamResource,
  activeTimeoutMs: number,
): Promise<ProvisionOutcome> {
  const existing = await describeStream(kinesis, stream.name);
  let outcome: ProvisionOutcome = 'present';
  if (existing) {
    if (existing.OpenShardCount !== undefined && existing.OpenShardCount !== stream.shardCount) {
      throw new Error(
        `stream ${stream.name} has ${existing.OpenShardCount} open shards, the list wants ${stream.shardCount}; ` +
          'resharding changes shard ids under the consumers: restart the AWS emulator with a clean state',
      );
    }
  } else {
    await kinesis.send(new CreateStreamCommand({ StreamName: stream.name, ShardCount: stream.shardCount }));
    outcome = 'created';
  }
  await waitFor(`stream ${stream.name} ACTIVE`, activeTimeoutMs, async () => {
    return (await describeStream(kinesis, stream.name))?.StreamStatus === 'ACTIVE';
  });
  return outcome;
}

async function describeStream(kinesis: KinesisClient, name: string) {
  try {
    return (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name })))
      .StreamDescriptionSummary;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function provisionBucket(s3: S3Client, bucket: BucketResource): Promise<ProvisionOutcome> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket.name }));
    return 'present';
  } catch (error) {
    // HEAD has no body, so the SDK can only name the error after the status code.
    if (errorName(error) !== 'NotFound' && httpStatusOf(error) !== 404) throw error;
  }
  // us-east-1 takes no LocationConstraint (sending one is an error there).
  await s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
  return 'created';
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
