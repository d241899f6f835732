/**
 * Contract tests for the local AWS emulators: exactly the AWS behaviour CloudCafe relies on,
 * driven through the real SDK v3 clients the services use. Each API is reached the way the SDK
 * would: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else the lab's emulator for that API
 * (AWS_ENDPOINTS: SQS on ElasticMQ, the rest on moto). Pointing one API elsewhere is how the
 * candidates were compared (docs/adr/0002-local-aws-emulators.md).
 * Every run uses fresh resource names, so reruns against a long-lived emulator don't collide.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudWatchClient,
  DeleteDashboardsCommand,
  GetDashboardCommand,
  GetMetricDataCommand,
  PutDashboardCommand,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  CreateExperimentTemplateCommand,
  DeleteExperimentTemplateCommand,
  FisClient,
  GetExperimentCommand,
  GetExperimentTemplateCommand,
  StartExperimentCommand,
  StopExperimentCommand,
} from '@aws-sdk/client-fis';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import t from 'tap';
import { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION } from '../src/aws-resources.js';
import { AWS_SERVICES, type AwsService, awsEndpointUrl } from '../src/engines/aws.js';

const RUN = `ct${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;
/** The SDK's precedence (service-specific variable, then the global one), then the lab's port. */
const endpointFor = (service: AwsService): string =>
  process.env[`AWS_ENDPOINT_URL_${AWS_SERVICES[service]}`] ??
  process.env.AWS_ENDPOINT_URL ??
  awsEndpointUrl(service);
const base = { region: LOCAL_AWS_REGION, credentials: LOCAL_AWS_CREDENTIALS, maxAttempts: 1 };

const sqs = new SQSClient({ ...base, endpoint: endpointFor('sqs') });
const ddb = new DynamoDBClient({ ...base, endpoint: endpointFor('dynamodb') });
const doc = DynamoDBDocumentClient.from(ddb);
// The Kinesis client defaults to HTTP/2 (for SubscribeToShard); over plain http that means h2c,
// which the emulators don't speak. CloudCafe reads with GetRecords, which HTTP/1.1 serves.
const kinesis = new KinesisClient({
  ...base,
  endpoint: endpointFor('kinesis'),
  requestHandler: new NodeHttpHandler(),
});
const s3 = new S3Client({ ...base, endpoint: endpointFor('s3'), forcePathStyle: true });
const cloudwatch = new CloudWatchClient({ ...base, endpoint: endpointFor('cloudwatch') });
const fis = new FisClient({ ...base, endpoint: endpointFor('fis') });

t.teardown(() => {
  for (const client of [sqs, ddb, kinesis, s3, cloudwatch, fis]) client.destroy();
});

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
async function pollFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Best-effort cleanup: a failing delete must not hide the assertion that failed. */
async function quietly(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch {
    // the resource names are unique per run, so a leftover only costs emulator memory
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, it succeeded');
}

// ── SQS FIFO ─────────────────────────────────────────────────────────────────────────────────

async function createFifoQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${RUN}-${name}.fifo`,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', ...attributes },
    }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  t.teardown(() => quietly(() => sqs.send(new DeleteQueueCommand({ QueueUrl }))));
  return QueueUrl;
}

async function receive(queueUrl: string, options: { visibilityTimeout?: number } = {}): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: options.visibilityTimeout,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

/** Receives and deletes until `count` messages arrived, then checks for a few polls that no more come. */
async function drain(queueUrl: string, count: number, timeoutMs = 8_000): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  let emptyPollsAfterCount = 0;
  while (Date.now() < deadline && emptyPollsAfterCount < 3) {
    const batch = await receive(queueUrl, { visibilityTimeout: 30 });
    for (const message of batch) {
      got.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    if (got.length >= count && batch.length === 0) emptyPollsAfterCount++;
    if (batch.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return got;
}

async function sendFifo(queueUrl: string, group: string, dedupId: string, body: string) {
  return sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: group,
      MessageDeduplicationId: dedupId,
    }),
  );
}

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

t.test('SQS FIFO', async (t) => {
  t.test('answers GetQueueUrl with a URL on the endpoint the client called', async (t) => {
    // Prepare: a client that reaches the same emulator under another name, as a service does
    // through its Toxiproxy link. The SDK sends every call to the QueueUrl's host when it differs
    // from an endpoint that came from the environment, so a URL naming the emulator itself
    // would let SQS calls bypass the link and its faults.
    const name = `${RUN}-url.fifo`;
    await createFifoQueue('url');
    const viaOtherName = new URL(endpointFor('sqs'));
    viaOtherName.hostname = viaOtherName.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    const other = new SQSClient({ ...base, endpoint: viaOtherName.origin });
    t.teardown(() => other.destroy());
    // Act
    const { QueueUrl } = await other.send(new GetQueueUrlCommand({ QueueName: name }));
    // Assess
    t.equal(new URL(QueueUrl ?? 'http://missing').origin, viaOtherName.origin);
  });

  t.test('keeps the send order within each message group', async (t) => {
    // Prepare: two customers' orders, interleaved as the outbox relay would publish them
    const queueUrl = await createFifoQueue('order');
    const sent = ['a1', 'b1', 'a2', 'a3', 'b2', 'b3', 'a4', 'b4', 'a5', 'b5'];
    // Act
    for (const body of sent) await sendFifo(queueUrl, `customer-${body[0]}`, `${RUN}-${body}`, body);
    const received = (await drain(queueUrl, sent.length)).map((m) => m.Body);
    // Assess
    t.equal(received.length, sent.length, 'every message is delivered exactly once');
    for (const group of ['a', 'b']) {
      t.same(
        received.filter((body) => body?.startsWith(group)),
        sent.filter((body) => body.startsWith(group)),
        `group ${group} arrives in send order`,
      );
    }
  });

  t.test('drops a second send with the same MessageDeduplicationId', async (t) => {
    // Prepare
    const queueUrl = await createFifoQueue('dedup');
    // Act: the relay retries order-1 after a timeout; order-2 is a different order
    await sendFifo(queueUrl, 'customer-1', `${RUN}-order-1`, 'first attempt');
    await sendFifo(queueUrl, 'customer-1', `${RUN}-order-1`, 'retry of the same order');
    await sendFifo(queueUrl, 'customer-1', `${RUN}-order-2`, 'another order');
    const received = await drain(queueUrl, 2);
    // Assess
    t.same(
      received.map((m) => m.Body),
      ['first attempt', 'another order'],
    );
  });

  t.test('holds back the rest of a group while one of its messages is in flight', async (t) => {
    // Prepare: the payment Lambda fails a1 and does not delete it
    const queueUrl = await createFifoQueue('group-lock', { VisibilityTimeout: '1' });
    await sendFifo(queueUrl, 'customer-a', `${RUN}-a1`, 'a1');
    await sendFifo(queueUrl, 'customer-a', `${RUN}-a2`, 'a2');
    // Act
    const first = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const whileInFlight = await receive(queueUrl);
    const redelivered = await pollFor('a1 to come back', 5_000, async () => (await receive(queueUrl))[0]);
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: redelivered.ReceiptHandle }),
    );
    const after = await drain(queueUrl, 1);
    // Assess
    t.equal(first.Messages?.[0]?.Body, 'a1');
    t.same(whileInFlight, [], 'a2 does not overtake a1 while a1 is in flight');
    t.equal(redelivered.Body, 'a1', 'a1 comes back first once its visibility timeout expires');
    t.same(
      after.map((m) => m.Body),
      ['a2'],
      'a2 follows once a1 is deleted',
    );
  });

  t.test(
    'drops a resend with the same MessageDeduplicationId even after the first was consumed',
    async (t) => {
      // Prepare: the relay sent order-1, crashed before marking the outbox row, and the payment
      // Lambda consumed and deleted the message meanwhile
      const queueUrl = await createFifoQueue('dedup-consumed');
      await sendFifo(queueUrl, 'customer-1', `${RUN}-order-1`, 'order-1');
      const consumed = await drain(queueUrl, 1);
      // Act: the restarted relay resends the row within the 5-minute deduplication interval
      await sendFifo(queueUrl, 'customer-1', `${RUN}-order-1`, 'order-1 resent');
      await sendFifo(queueUrl, 'customer-1', `${RUN}-order-2`, 'order-2');
      const afterResend = await drain(queueUrl, 1);
      // Assess
      t.same(
        consumed.map((m) => m.Body),
        ['order-1'],
      );
      t.same(
        afterResend.map((m) => m.Body),
        ['order-2'],
        'the resend is accepted but never delivered; the next order is',
      );
    },
  );

  t.test('hides a received message until its visibility timeout, then redelivers it', async (t) => {
    // Prepare
    const queueUrl = await createFifoQueue('visibility', { VisibilityTimeout: '2' });
    await sendFifo(queueUrl, 'customer-1', `${RUN}-v1`, 'charge me');
    // Act: the clock starts before the first receive is sent, so the time from it to an answer
    // is never less than the time the message really stayed hidden. A message answered within
    // 2 s of that start was certainly handed out early, however slow the machine; a slow
    // machine can only make an early one look late, never a correct one look early.
    const askedAt = Date.now();
    const [first] = await receive(queueUrl);
    const seenWhileInvisible: Message[] = [];
    const second = await pollFor('redelivery', 30_000, async () => {
      const [message] = await receive(queueUrl);
      if (message && Date.now() - askedAt < 2_000) seenWhileInvisible.push(message);
      return message;
    });
    const redeliveredAfterMs = Date.now() - askedAt;
    // Assess
    t.equal(first?.Body, 'charge me');
    t.equal(first?.Attributes?.ApproximateReceiveCount, '1');
    t.same(seenWhileInvisible, [], 'nobody else receives it while it is invisible');
    t.ok(redeliveredAfterMs >= 2_000, `redelivered after the 2 s timeout (${redeliveredAfterMs} ms)`);
    t.equal(second.MessageId, first?.MessageId, 'the same message comes back');
    t.equal(second.Attributes?.ApproximateReceiveCount, '2', 'with its receive count incremented');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: second.ReceiptHandle }));
    t.equal(await queueDepth(queueUrl), 0, 'deleting with the latest receipt handle removes it');
  });

  t.test('moves a message to the DLQ after maxReceiveCount receives', async (t) => {
    // Prepare: a consumer that always fails (never deletes)
    const dlqUrl = await createFifoQueue('dlq');
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const queueUrl = await createFifoQueue('redrive', {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 2 }),
    });
    await sendFifo(queueUrl, 'customer-1', `${RUN}-poison`, 'poison order');
    // Act: keep receiving from the source (a receive is what triggers the move) until it shows up in the DLQ
    let deliveries = 0;
    const dead = await pollFor('the message in the DLQ', 10_000, async () => {
      deliveries += (await receive(queueUrl)).length;
      const [message] = await receive(dlqUrl);
      return message;
    });
    // Assess
    t.equal(deliveries, 2, 'delivered maxReceiveCount times, never more');
    t.equal(dead.Body, 'poison order');
    t.equal(dead.Attributes?.MessageGroupId, 'customer-1', 'the DLQ keeps the message group');
    t.equal(await queueDepth(queueUrl), 0, 'the source queue no longer holds it');
  });
});

// ── DynamoDB ─────────────────────────────────────────────────────────────────────────────────

async function createTable(name: string, key: string): Promise<string> {
  const tableName = `${RUN}-${name}`;
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
    }),
  );
  t.teardown(() => quietly(() => ddb.send(new DeleteTableCommand({ TableName: tableName }))));
  await pollFor(`table ${tableName} ACTIVE`, 10_000, async () => {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus === 'ACTIVE' ? true : undefined;
  });
  return tableName;
}

t.test('DynamoDB', async (t) => {
  const [payments, inventory, reservations] = await Promise.all([
    createTable('payments', 'orderId'),
    createTable('inventory', 'sku'),
    createTable('reservations', 'orderId'),
  ]);

  t.test('a conditional put refuses a second charge for the same order', async (t) => {
    // Prepare
    const charge = (amountCents: number) =>
      doc.send(
        new PutCommand({
          TableName: payments,
          Item: { orderId: 'order-1', amountCents },
          ConditionExpression: 'attribute_not_exists(orderId)',
        }),
      );
    // Act
    await charge(450);
    const second = await rejection(charge(999));
    // Assess
    t.match(second, { name: 'ConditionalCheckFailedException' });
    const { Item } = await doc.send(new GetCommand({ TableName: payments, Key: { orderId: 'order-1' } }));
    t.same(Item, { orderId: 'order-1', amountCents: 450 }, 'the first charge stands');
  });

  t.test('a conditional update never takes stock below zero', async (t) => {
    // Prepare
    await doc.send(new PutCommand({ TableName: inventory, Item: { sku: 'latte', stock: 3 } }));
    const reserve = (quantity: number) =>
      doc.send(
        new UpdateCommand({
          TableName: inventory,
          Key: { sku: 'latte' },
          UpdateExpression: 'SET stock = stock - :q',
          ConditionExpression: 'stock >= :q',
          ExpressionAttributeValues: { ':q': quantity },
        }),
      );
    // Act
    await reserve(2);
    const second = await rejection(reserve(2));
    // Assess
    t.match(second, { name: 'ConditionalCheckFailedException' });
    const { Item } = await doc.send(new GetCommand({ TableName: inventory, Key: { sku: 'latte' } }));
    t.equal(Item?.stock, 1);
  });

  t.test('a versioned compare-and-swap loses to a writer that came first', async (t) => {
    // Prepare: the shape of a SKU item as inventory's stock lanes write it (no transactions)
    await doc.send(
      new PutCommand({
        TableName: inventory,
        Item: { sku: 'mocha', available: 3, reserved: 0, version: 0, holds: {} },
      }),
    );
    const swap = (expected: number, holds: Record<string, { q: number; exp: number }>, available: number) =>
      doc.send(
        new UpdateCommand({
          TableName: inventory,
          Key: { sku: 'mocha' },
          UpdateExpression: 'SET available = :a, reserved = :r, version = :v1, holds = :h',
          ConditionExpression: 'version = :v0',
          ExpressionAttributeValues: {
            ':a': available,
            ':r': 3 - available,
            ':v0': expected,
            ':v1': expected + 1,
            ':h': holds,
          },
        }),
      );
    // Act: two instances planned from version 0; the second one's write must lose
    await swap(0, { 'order-1': { q: 1, exp: 123 } }, 2);
    const late = await rejection(swap(0, { 'order-2': { q: 3, exp: 456 } }, 0));
    // Assess
    t.match(late, { name: 'ConditionalCheckFailedException' });
    const { Item } = await doc.send(
      new GetCommand({ TableName: inventory, Key: { sku: 'mocha' }, ConsistentRead: true }),
    );
    t.same(
      Item,
      { sku: 'mocha', available: 2, reserved: 1, version: 1, holds: { 'order-1': { q: 1, exp: 123 } } },
      'the first write stands whole, nested map included',
    );
  });

  t.test('refuses expression values that no expression uses, as DynamoDB does', async (t) => {
    // Real DynamoDB answers ValidationException; an emulator that accepts such a request hides
    // a bug that only shows on AWS (inventory shipped one: ADR 0011).
    const unused = await rejection(
      doc.send(
        new UpdateCommand({
          TableName: reservations,
          Key: { orderId: 'order-9' },
          UpdateExpression: 'SET #s = :to',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':to': 'released', ':fin': 1 },
        }),
      ),
    );
    t.match(unused, { name: 'ValidationException', message: /unused in expressions/ });
  });
});

// ── Kinesis ──────────────────────────────────────────────────────────────────────────────────

/** Reads a shard from `iterator` until the emulator has nothing more (an open shard never ends). */
async function readShard(iterator: string | undefined): Promise<KinesisRecord[]> {
  const records: KinesisRecord[] = [];
  let next = iterator;
  for (let page = 0; next && page < 20; page++) {
    const result = await kinesis.send(new GetRecordsCommand({ ShardIterator: next, Limit: 1000 }));
    records.push(...(result.Records ?? []));
    if ((result.Records ?? []).length === 0 && (result.MillisBehindLatest ?? 0) === 0) break;
    next = result.NextShardIterator;
  }
  return records;
}

t.test('Kinesis', async (t) => {
  // Prepare
  const streamName = `${RUN}-order-events`;
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
  t.teardown(() => quietly(() => kinesis.send(new DeleteStreamCommand({ StreamName: streamName }))));
  await pollFor('stream ACTIVE', 10_000, async () => {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
  });
  const events = Array.from({ length: 24 }, (_, i) => ({
    orderId: `order-${i}`,
    type: 'OrderAccepted',
    seq: i,
  }));

  // Act
  const put = await kinesis.send(
    new PutRecordsCommand({
      StreamName: streamName,
      Records: events.map((event) => ({
        PartitionKey: event.orderId,
        Data: Buffer.from(JSON.stringify(event)),
      })),
    }),
  );
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  const byShard = new Map<string, KinesisRecord[]>();
  for (const shard of Shards ?? []) {
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    byShard.set(shard.ShardId ?? '', await readShard(ShardIterator));
  }

  // Assess
  t.equal(put.FailedRecordCount ?? 0, 0, 'PutRecords accepts every record');
  const shardsWritten = new Set(put.Records?.map((r) => r.ShardId));
  t.equal(Shards?.length, 2, 'the stream has 2 shards');
  t.equal(shardsWritten.size, 2, 'the partition keys spread the records over both shards');
  const decode = (record: KinesisRecord) =>
    JSON.parse(Buffer.from(record.Data ?? []).toString()) as { seq: number };
  const readSeqs = [...byShard.values()].flat().map((record) => decode(record).seq);
  t.same(
    [...readSeqs].sort((a, b) => a - b),
    events.map((e) => e.seq),
    'TRIM_HORIZON on every shard reads every record exactly once',
  );
  for (const [shardId, records] of byShard) {
    const putOrder = (put.Records ?? []).filter((r) => r.ShardId === shardId).map((r) => r.SequenceNumber);
    t.same(
      records.map((r) => r.SequenceNumber),
      putOrder,
      `${shardId} returns its records in put order with the sequence numbers PutRecords reported`,
    );
  }

  // Act: a consumer that checkpointed the first record of the busiest shard resumes after it
  const [busiestShard, busiestRecords] = [...byShard].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
  const checkpoint = busiestRecords?.[0]?.SequenceNumber;
  const { ShardIterator: resumeAt } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: streamName,
      ShardId: busiestShard,
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      StartingSequenceNumber: checkpoint,
    }),
  );
  const resumed = await readShard(resumeAt);
  // Assess
  t.ok((busiestRecords?.length ?? 0) >= 2, 'the busiest shard has records to resume into');
  t.same(
    resumed.map((r) => r.SequenceNumber),
    busiestRecords?.slice(1).map((r) => r.SequenceNumber),
    'AFTER_SEQUENCE_NUMBER resumes right after the checkpoint',
  );
});

// ── S3 ───────────────────────────────────────────────────────────────────────────────────────

t.test('S3 stores and returns a receipt', async (t) => {
  // Prepare
  const bucket = `${RUN}-receipts`;
  const key = 'receipts/order-1.json';
  const receipt = JSON.stringify({ orderId: 'order-1', amountCents: 450, currency: 'EUR' });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  t.teardown(async () => {
    await quietly(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    await quietly(() => s3.send(new DeleteBucketCommand({ Bucket: bucket })));
  });
  // Act
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: receipt, ContentType: 'application/json' }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const missing = await rejection(
    s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'receipts/nope.json' })),
  );
  // Assess
  t.equal(await got.Body?.transformToString(), receipt);
  t.equal(got.ContentType, 'application/json');
  t.match(missing, { name: 'NoSuchKey' }, 'a missing receipt is NoSuchKey (the auditor relies on it)');
});

// ── CloudWatch ───────────────────────────────────────────────────────────────────────────────

t.test('CloudWatch', async (t) => {
  t.test('GetMetricData returns what PutMetricData stored', async (t) => {
    // Prepare: a Service value of our own, so other runs' data cannot leak in
    const metric = {
      Namespace: 'CloudCafe',
      MetricName: 'OrdersAccepted',
      Dimensions: [{ Name: 'Service', Value: `order-${RUN}` }],
    };
    const now = new Date();
    // Act
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: metric.Namespace,
        MetricData: [3, 4, 5].map((value) => ({
          MetricName: metric.MetricName,
          Dimensions: metric.Dimensions,
          Value: value,
          Unit: 'Count',
          Timestamp: now,
        })),
      }),
    );
    const query = (stat: string) =>
      cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - 10 * 60_000),
          EndTime: new Date(now.getTime() + 60_000),
          MetricDataQueries: [
            { Id: 'm', MetricStat: { Metric: metric, Period: 60, Stat: stat }, ReturnData: true },
          ],
        }),
      );
    const sum = await pollFor('the datapoints', 5_000, async () => {
      const values = (await query('Sum')).MetricDataResults?.[0]?.Values ?? [];
      return values.length > 0 ? values.reduce((a, b) => a + b, 0) : undefined;
    });
    const samples = ((await query('SampleCount')).MetricDataResults?.[0]?.Values ?? []).reduce(
      (a, b) => a + b,
      0,
    );
    // Assess
    t.equal(sum, 12, 'Sum over the datapoints');
    t.equal(samples, 3, 'SampleCount over the datapoints');
  });

  t.test('GetDashboard returns the body PutDashboard stored', async (t) => {
    // Prepare
    const name = `cloudcafe-${RUN}`;
    const body = {
      widgets: [
        {
          type: 'metric',
          x: 0,
          y: 0,
          width: 12,
          height: 6,
          properties: {
            region: LOCAL_AWS_REGION,
            title: 'Orders accepted',
            metrics: [['CloudCafe', 'OrdersAccepted', 'Service', 'order']],
            stat: 'Sum',
            period: 60,
          },
        },
      ],
    };
    t.teardown(() => quietly(() => cloudwatch.send(new DeleteDashboardsCommand({ DashboardNames: [name] }))));
    // Act
    const put = await cloudwatch.send(
      new PutDashboardCommand({ DashboardName: name, DashboardBody: JSON.stringify(body) }),
    );
    const got = await cloudwatch.send(new GetDashboardCommand({ DashboardName: name }));
    // Assess
    t.same(put.DashboardValidationMessages ?? [], [], 'the body is accepted without warnings');
    t.equal(got.DashboardName, name);
    t.same(JSON.parse(got.DashboardBody ?? 'null'), body);
  });
});

// ── FIS (control plane only: locally no fault is injected) ──────────────────────────────────

t.test('FIS runs an experiment through its lifecycle', async (t) => {
  // Prepare
  const template = await fis.send(
    new CreateExperimentTemplateCommand({
      clientToken: `${RUN}-template`,
      description: 'CloudCafe contract test: stop the order tasks',
      roleArn: 'arn:aws:iam::123456789012:role/cloudcafe-fis',
      stopConditions: [{ source: 'none' }],
      targets: {
        orderTasks: {
          resourceType: 'aws:ecs:task',
          resourceArns: ['arn:aws:ecs:us-east-1:123456789012:task/cloudcafe/0123456789abcdef'],
          selectionMode: 'ALL',
        },
      },
      actions: {
        stopOrderTasks: { actionId: 'aws:ecs:stop-task', targets: { Tasks: 'orderTasks' } },
      },
      tags: { Project: 'CloudCafe', Run: RUN },
    }),
  );
  const templateId = template.experimentTemplate?.id;
  t.teardown(() => quietly(() => fis.send(new DeleteExperimentTemplateCommand({ id: templateId }))));
  // Act
  const fetched = await fis.send(new GetExperimentTemplateCommand({ id: templateId }));
  const started = await fis.send(
    new StartExperimentCommand({ clientToken: `${RUN}-start`, experimentTemplateId: templateId }),
  );
  const experimentId = started.experiment?.id;
  const running = await fis.send(new GetExperimentCommand({ id: experimentId }));
  const stopping = await fis.send(new StopExperimentCommand({ id: experimentId }));
  const stopped = await pollFor('the experiment to stop', 5_000, async () => {
    const { experiment } = await fis.send(new GetExperimentCommand({ id: experimentId }));
    return experiment?.state?.status === 'stopped' ? experiment : undefined;
  });
  // Assess
  t.ok(templateId, 'the template has an id');
  t.match(fetched.experimentTemplate?.actions, { stopOrderTasks: { actionId: 'aws:ecs:stop-task' } });
  t.ok(experimentId, 'the experiment has an id');
  t.equal(running.experiment?.experimentTemplateId, templateId, 'GetExperiment names its template');
  t.match(
    running.experiment?.state?.status,
    /^(pending|initiating|running)$/,
    'a started experiment is live',
  );
  t.match(stopping.experiment?.state?.status, /^(stopping|stopped)$/, 'StopExperiment stops it');
  t.equal(stopped.id, experimentId);
});
