/**
 * Provisioning against the running lab emulators: it creates what the list says, a second run
 * changes nothing, drift is put back, and a change that would lose data is refused. The lab's
 * own list is provisioned under fresh names so the test never touches the resources in use.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import t from 'tap';
import {
  AWS_RESOURCES,
  type AwsResource,
  BUCKETS,
  LOCAL_AWS_CREDENTIALS,
  LOCAL_AWS_REGION,
  type ProvisionOptions,
  provisionAwsResources,
  QUEUES,
  STREAMS,
  TABLES,
} from '../src/aws-resources.js';
import { AWS_SERVICES, type AwsService, awsEndpointUrl } from '../src/engines/aws.js';

const RUN = `pr${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
const endpointFor = (service: AwsService): string =>
  process.env[`AWS_ENDPOINT_URL_${AWS_SERVICES[service]}`] ??
  process.env.AWS_ENDPOINT_URL ??
  awsEndpointUrl(service);
const endpoints: ProvisionOptions['endpoints'] = {
  sqs: endpointFor('sqs'),
  dynamodb: endpointFor('dynamodb'),
  kinesis: endpointFor('kinesis'),
  s3: endpointFor('s3'),
};
const base = { region: LOCAL_AWS_REGION, credentials: LOCAL_AWS_CREDENTIALS, maxAttempts: 1 };
const sqs = new SQSClient({ ...base, endpoint: endpointFor('sqs') });
const ddb = new DynamoDBClient({ ...base, endpoint: endpointFor('dynamodb') });
const kinesis = new KinesisClient({
  ...base,
  endpoint: endpointFor('kinesis'),
  requestHandler: new NodeHttpHandler(),
});
const s3 = new S3Client({ ...base, endpoint: endpointFor('s3'), forcePathStyle: true });
t.teardown(() => {
  for (const client of [sqs, ddb, kinesis, s3]) client.destroy();
});

/** The lab's list with every name made unique to this run (queues keep their `.fifo`). */
const renamed = (name: string): string => `${RUN}-${name}`;
const RESOURCES: AwsResource[] = AWS_RESOURCES.map((resource) =>
  resource.kind === 'sqs-queue' && resource.deadLetter
    ? {
        ...resource,
        name: renamed(resource.name),
        deadLetter: { ...resource.deadLetter, queue: renamed(resource.deadLetter.queue) },
      }
    : { ...resource, name: renamed(resource.name) },
);
const provision = (resources: readonly AwsResource[] = RESOURCES) =>
  provisionAwsResources({ endpoint: endpointFor('dynamodb'), endpoints, resources });

async function queueAttributes(name: string) {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return { url: QueueUrl, attributes: Attributes ?? {} };
}

t.test('the list holds what the lab needs, in an order provisioning can follow', async (t) => {
  const names = AWS_RESOURCES.map((r) => r.name);
  t.same(
    [...names].sort(),
    [
      ...Object.values(QUEUES),
      ...Object.values(TABLES),
      ...Object.values(STREAMS),
      ...Object.values(BUCKETS),
    ].sort(),
    'every exported name is provisioned, and nothing else',
  );
  for (const resource of AWS_RESOURCES) {
    if (resource.kind === 'sqs-queue' && resource.deadLetter) {
      t.ok(
        names.indexOf(resource.deadLetter.queue) < names.indexOf(resource.name),
        `${resource.deadLetter.queue} is listed before ${resource.name}`,
      );
    }
  }
});

t.test('provisioning creates the resources, then leaves them alone', async (t) => {
  // Act
  const first = await provision();
  const second = await provision();
  // Assess
  t.same(
    first.map((r) => r.outcome),
    RESOURCES.map(() => 'created'),
    'a first run creates everything',
  );
  t.same(
    second.map((r) => r.outcome),
    RESOURCES.map(() => 'present'),
    'a second run finds everything in place',
  );

  const dlq = await queueAttributes(renamed(QUEUES.paymentRequestsDlq));
  const requests = await queueAttributes(renamed(QUEUES.paymentRequests));
  t.match(requests.attributes, {
    FifoQueue: 'true',
    ContentBasedDeduplication: 'false',
    VisibilityTimeout: '30',
  });
  t.match(JSON.parse(requests.attributes.RedrivePolicy ?? '{}'), {
    deadLetterTargetArn: dlq.attributes.QueueArn,
    maxReceiveCount: /^5$/,
  });
  t.equal(dlq.attributes.FifoQueue, 'true', 'the DLQ of a FIFO queue is FIFO');
  t.equal((await queueAttributes(renamed(QUEUES.paymentResults))).attributes.FifoQueue, 'true');

  for (const [table, key] of [
    [TABLES.inventory, 'sku'],
    [TABLES.reservations, 'orderId'],
    [TABLES.payments, 'orderId'],
  ] as const) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: renamed(table) }));
    t.same(Table?.KeySchema, [{ AttributeName: key, KeyType: 'HASH' }], `${table} is keyed by ${key}`);
    t.equal(Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST', `${table} is on demand`);
  }
  const { StreamDescriptionSummary } = await kinesis.send(
    new DescribeStreamSummaryCommand({ StreamName: renamed(STREAMS.orderEvents) }),
  );
  t.equal(StreamDescriptionSummary?.OpenShardCount, 2);
  await t.resolves(
    s3.send(new HeadBucketCommand({ Bucket: renamed(BUCKETS.receipts) })),
    'the bucket exists',
  );
});

t.test('provisioning puts a drifted queue attribute back', async (t) => {
  // Prepare: someone shortened the visibility timeout by hand
  await provision();
  const name = renamed(QUEUES.paymentRequests);
  const { url } = await queueAttributes(name);
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: '5' } }));
  // Act
  const results = await provision();
  // Assess
  t.same(
    results.filter((r) => r.outcome !== 'present').map((r) => [r.resource.name, r.outcome]),
    [[name, 'updated']],
  );
  t.equal((await queueAttributes(name)).attributes.VisibilityTimeout, '30');
});

t.test('provisioning refuses to change a table key in place', async (t) => {
  // Prepare: a table of that name exists with another key
  const name = renamed('wrong-key');
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  // Act / Assess
  await t.rejects(
    provision([{ kind: 'dynamodb-table', name, partitionKey: { name: 'sku', type: 'S' } }]),
    new RegExp(`table ${name} exists with key`),
  );
});
