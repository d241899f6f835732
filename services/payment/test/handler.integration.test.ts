import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BUCKETS, QUEUES, receiptKey } from '@cloudcafe/contracts';
import { labPaths, readLabState } from '@cloudcafe/local-platform';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import t from 'tap';

// The handler called directly, as Lambda would, against the lab's real engines: DynamoDB and
// S3 (moto), SQS (ElasticMQ) and the payment gateway simulator, each through the payment
// service's own Toxiproxy links. The lab's runtime is not involved: these tests hand-build the
// SQS events, so they control exactly what is delivered, and how often.

const state = readLabState(labPaths());
if (!state)
  throw new Error('the lab is not up: run through `npx tap` (its before-hook) or `npx cloudcafe lab up`');
const link = (to: string) => {
  const found = state.links.find((l) => l.name === `payment-to-${to}`);
  if (!found) throw new Error(`no link payment-to-${to}: is payment in CLOUDCAFE_SERVICES?`);
  return `http://127.0.0.1:${found.listenPort}`;
};
const adminToken = readFileSync(state.adminTokenFile, 'utf8').trim();
const gatewayAdmin = `http://127.0.0.1:${state.ports.paymentGatewaySimulator}/api/payment-gateway`;

const aws = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const sqs = new SQSClient({ ...aws, endpoint: link('sqs') });
const s3 = new S3Client({ ...aws, endpoint: link('s3'), forcePathStyle: true });
// A results queue of this file's own (same FIFO shape as cloudcafe-payment-results.fifo): in a
// full lab the order service consumes the shared results queue, and would take the results
// these tests read before they could see them.
const resultsUrl =
  (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `cloudcafe-payment-results-test-${randomUUID().slice(0, 8)}.fifo`,
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
      }),
    )
  ).QueueUrl ?? '';
if (!resultsUrl) throw new Error('the emulator created no results queue for the test');
t.teardown(async () => {
  await sqs.send(new DeleteQueueCommand({ QueueUrl: resultsUrl }));
  sqs.destroy();
  s3.destroy();
});

Object.assign(process.env, {
  PAYMENT_GATEWAY_URL: link('payment-gateway'),
  AWS_ENDPOINT_URL: `http://127.0.0.1:${state.ports.aws}`,
  AWS_ENDPOINT_URL_SQS: link('sqs'),
  AWS_ENDPOINT_URL_DYNAMODB: link('dynamodb'),
  AWS_ENDPOINT_URL_S3: link('s3'),
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
  AWS_S3_FORCE_PATH_STYLE: 'on',
  PLATFORM: 'local',
  LOG_LEVEL: 'silent',
  FRAUD_MODEL_ROUNDS: '2000',
  GATEWAY_TIMEOUT_MS: '2000',
  PAYMENT_RESULTS_QUEUE_URL: resultsUrl,
});
// Imported after the environment is set: the module's init reads it, as on Lambda.
const { handler } = await import('../src/handler.js');

const context = (remainingMs = 30_000): Context => {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'cloudcafe-payment',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:cloudcafe-payment',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/cloudcafe-payment',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
};

interface Payment {
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
}

const payment = (overrides: Partial<Payment> = {}): Payment => {
  const id = randomUUID().slice(0, 12);
  return { orderId: `h-${id}`, customerId: `cust-${id}`, amountCents: 480, currency: 'USD', ...overrides };
};

const record = (p: Payment, body?: string): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: randomUUID(),
  body: body ?? JSON.stringify({ type: 'PaymentRequested', ...p, requestedAt: new Date().toISOString() }),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'test',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
    MessageGroupId: p.customerId,
    MessageDeduplicationId: p.orderId,
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${QUEUES.paymentRequests}`,
  awsRegion: 'us-east-1',
});

const invoke = (...records: SQSRecord[]) => handler({ Records: records } satisfies SQSEvent, context());

async function captures(orderId: string): Promise<number> {
  const res = await fetch(`${gatewayAdmin}/v1/charges?orderId=${encodeURIComponent(orderId)}`);
  const { charges } = (await res.json()) as { charges: { status: string }[] };
  return charges.filter((c) => c.status === 'captured').length;
}

async function setGatewayFlag(name: string, variant: string): Promise<void> {
  const res = await fetch(`${gatewayAdmin}/admin/flags/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ variant, ttlSeconds: 60 }),
  });
  if (res.status !== 200) throw new Error(`setting ${name} answered ${res.status}`);
}

/** Reads results from the results queue until every order has one (or the time is up). */
const seenResults = new Map<string, { outcome: string; reason?: string; chargeId?: string }[]>();
async function resultsFor(orderIds: string[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (orderIds.some((id) => !seenResults.has(id)) && Date.now() < deadline) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resultsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of Messages) {
      const body = JSON.parse(m.Body ?? '{}') as { orderId: string; outcome: string };
      seenResults.set(body.orderId, [...(seenResults.get(body.orderId) ?? []), body]);
    }
    if (Messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: resultsUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
  return orderIds.map((id) => seenResults.get(id)?.[0]);
}

t.test('a payment is charged once, its receipt written and its result published', async (t) => {
  // Prepare
  const p = payment();
  // Act
  const response = await invoke(record(p));
  // Assess
  t.same(response, { batchItemFailures: [] });
  t.equal(await captures(p.orderId), 1, 'one capture at the gateway');
  const [result] = await resultsFor([p.orderId]);
  t.match(result, { outcome: 'charged', chargeId: /^ch_/ });
  const receipt = await s3.send(
    new GetObjectCommand({ Bucket: BUCKETS.receipts, Key: receiptKey(p.orderId) }),
  );
  t.match(JSON.parse((await receipt.Body?.transformToString()) ?? '{}'), {
    orderId: p.orderId,
    amountCents: 480,
    chargeId: result?.chargeId,
  });
});

t.test('a second delivery of the same request does not charge again', async (t) => {
  // Prepare
  const p = payment();
  await invoke(record(p));
  // Act: the same request again, as a new message (a redelivery, or an outbox resend)
  const again = await invoke(record(p));
  // Assess
  t.same(again, { batchItemFailures: [] }, 'the duplicate is a success, not a failure');
  t.equal(await captures(p.orderId), 1, 'still one capture');
});

t.test('two deliveries of one request in one batch charge once', async (t) => {
  const p = payment();
  const response = await invoke(record(p), record(p));
  t.same(response, { batchItemFailures: [] });
  t.equal(await captures(p.orderId), 1);
});

t.test('a declined card is a result, not a failure', async (t) => {
  const p = payment({ customerId: `decline-${randomUUID().slice(0, 8)}` });
  const response = await invoke(record(p));
  t.same(response, { batchItemFailures: [] });
  const [result] = await resultsFor([p.orderId]);
  t.match(result, { outcome: 'declined', reason: 'card_declined' });
  t.equal(await captures(p.orderId), 0);
});

t.test('a high fraud score declines before the gateway is called', async (t) => {
  const p = payment({ amountCents: 750_000 });
  const response = await invoke(record(p));
  t.same(response, { batchItemFailures: [] });
  const [result] = await resultsFor([p.orderId]);
  t.match(result, { outcome: 'declined', reason: 'fraud' });
  const res = await fetch(`${gatewayAdmin}/v1/charges?orderId=${p.orderId}`);
  t.same(((await res.json()) as { charges: unknown[] }).charges, [], 'the gateway never saw it');
});

t.test('a malformed message fails (towards the DLQ) without failing the rest of the batch', async (t) => {
  const good = payment();
  const bad = record(payment(), '{"type":"PaymentRequested","orderId":""}');
  const response = await invoke(bad, record(good));
  t.same(response.batchItemFailures, [{ itemIdentifier: bad.messageId }]);
  t.equal(await captures(good.orderId), 1);
});

t.test(
  'gateway down: the record fails and holds back its group; after recovery it charges once',
  async (t) => {
    // Prepare
    const first = payment();
    const sameCustomer = payment({ customerId: first.customerId });
    const otherCustomer = payment();
    t.teardown(() => setGatewayFlag('payment-gateway-failure-rate', 'off'));
    await setGatewayFlag('payment-gateway-failure-rate', '100%');
    const records = [record(first), record(sameCustomer)];
    // Act
    const down = await invoke(...records);
    await setGatewayFlag('payment-gateway-failure-rate', 'off');
    const otherDuringRecovery = await invoke(record(otherCustomer));
    const recovered = await invoke(...records);
    // Assess
    t.same(
      down.batchItemFailures.map((f) => f.itemIdentifier),
      records.map((r) => r.messageId),
      'both records of the customer go back to the queue, in order',
    );
    t.same(otherDuringRecovery, { batchItemFailures: [] });
    t.same(recovered, { batchItemFailures: [] });
    t.equal(await captures(first.orderId), 1);
    t.equal(await captures(sameCustomer.orderId), 1);
    const results = await resultsFor([first.orderId, sameCustomer.orderId]);
    t.same(
      results.map((r) => r?.outcome),
      ['charged', 'charged'],
    );
  },
);

t.test('records left when the invocation is about to time out go back unprocessed', async (t) => {
  const p = payment();
  const response = await handler({ Records: [record(p)] }, context(1500));
  t.equal(response.batchItemFailures.length, 1);
  t.equal(await captures(p.orderId), 0, 'nothing was charged with too little time left');
});
