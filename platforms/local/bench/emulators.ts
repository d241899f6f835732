/**
 * Throughput of the local AWS emulator on the two hot paths of the order saga: SQS FIFO
 * (outbox relay → payment Lambda) and DynamoDB conditional puts (the payment ledger).
 *
 *   npm run bench:emulators [-- --rounds 5 --messages 300 --puts 500 --concurrency 8]
 *
 * Runs against the emulators already listening (`lab up`, or started by hand), found the way the
 * SDK finds them: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else the lab's port for that
 * API (engines/aws.ts). Loopback only.
 * Every round uses a fresh queue and fresh keys; the first round is a warm-up and not counted.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION } from '../src/aws-resources.js';
import { AWS_SERVICES, awsEndpointUrl } from '../src/engines/aws.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    messages: { type: 'string', default: '300' },
    puts: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
  },
});

function positiveInt(name: string, raw: string | undefined, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`--${name} must be an integer from 1 to ${max}, got ${raw}`);
  }
  return value;
}

const ROUNDS = positiveInt('rounds', args.rounds, 50);
const MESSAGES = positiveInt('messages', args.messages, 10_000);
const PUTS = positiveInt('puts', args.puts, 50_000);
const CONCURRENCY = positiveInt('concurrency', args.concurrency, 64);
/** A round that has not drained by then means the emulator lost messages or stalled. */
const ROUND_DEADLINE_MS = 120_000;
/** FIFO groups the senders spread over, like distinct customers. */
const MESSAGE_GROUPS = 16;

function endpointFor(service: 'sqs' | 'dynamodb'): string {
  const endpoint =
    process.env[`AWS_ENDPOINT_URL_${AWS_SERVICES[service]}`] ??
    process.env.AWS_ENDPOINT_URL ??
    awsEndpointUrl(service);
  const host = new URL(endpoint).hostname;
  // A benchmark that hammers an endpoint must never reach a real account by mistake.
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    throw new Error(`AWS endpoint for ${service} is ${endpoint}: the benchmark only runs against loopback`);
  }
  return endpoint;
}

const base = { region: LOCAL_AWS_REGION, credentials: LOCAL_AWS_CREDENTIALS, maxAttempts: 1 };
const sqs = new SQSClient({ ...base, endpoint: endpointFor('sqs') });
const ddb = new DynamoDBClient({ ...base, endpoint: endpointFor('dynamodb') });
const RUN = `bench${Date.now().toString(36)}${randomUUID().slice(0, 4)}`;

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

interface SqsRound {
  /** Deliveries of a message already delivered in this round: FIFO queues must have none. */
  readonly duplicates: number;
  readonly sendPerS: number;
  readonly receiveDeletePerS: number;
  readonly endToEndPerS: number;
}

async function sqsRound(round: number): Promise<SqsRound> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${RUN}-${round}.fifo`,
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '60' },
    }),
  );
  if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  try {
    const body = JSON.stringify({ type: 'PaymentRequested', amountCents: 450, padding: 'x'.repeat(200) });
    const sendStart = performance.now();
    await pool(MESSAGES, CONCURRENCY, async (i) => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: body,
          MessageGroupId: `customer-${i % MESSAGE_GROUPS}`,
          MessageDeduplicationId: `order-${round}-${i}`,
        }),
      );
    });
    const sendMs = performance.now() - sendStart;

    // Consumers as the Lambda poller runs them: batches of 10, one batch delete per batch.
    const receiveStart = performance.now();
    const deadline = Date.now() + ROUND_DEADLINE_MS;
    const seen = new Set<string>();
    let delivered = 0;
    const consumer = async () => {
      while (seen.size < MESSAGES) {
        if (Date.now() > deadline)
          throw new Error(`SQS round ${round}: only ${seen.size}/${MESSAGES} consumed`);
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const { Failed = [] } = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        if (Failed.length > 0)
          throw new Error(`SQS round ${round}: delete failed: ${JSON.stringify(Failed)}`);
        delivered += Messages.length;
        for (const message of Messages) seen.add(message.MessageId ?? '');
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, CONCURRENCY) }, consumer));
    const receiveMs = performance.now() - receiveStart;
    return {
      duplicates: delivered - seen.size,
      sendPerS: MESSAGES / (sendMs / 1000),
      receiveDeletePerS: MESSAGES / (receiveMs / 1000),
      endToEndPerS: MESSAGES / ((sendMs + receiveMs) / 1000),
    };
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  }
}

async function ddbRound(table: string, round: number): Promise<number> {
  let refused = 0;
  const start = performance.now();
  await pool(PUTS, CONCURRENCY, async (i) => {
    try {
      await ddb.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            orderId: { S: `order-${round}-${i}` },
            amountCents: { N: '450' },
            status: { S: 'charged' },
          },
          ConditionExpression: 'attribute_not_exists(orderId)',
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') refused++;
      else throw error;
    }
  });
  const ms = performance.now() - start;
  // Keys are fresh every round: a refusal means the emulator got the condition wrong.
  if (refused > 0) throw new Error(`DynamoDB round ${round}: ${refused} fresh keys refused`);
  return PUTS / (ms / 1000);
}

async function withTable<T>(use: (table: string) => Promise<T>): Promise<T> {
  const table = `${RUN}-payments`;
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'orderId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'orderId', KeyType: 'HASH' }],
    }),
  );
  try {
    for (let i = 0; ; i++) {
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: table }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (i > 100) throw new Error(`table ${table} not ACTIVE after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return await use(table);
  } finally {
    await ddb.send(new DeleteTableCommand({ TableName: table }));
  }
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

function row(cells: readonly string[], widths: readonly number[]): string {
  return `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
}

async function main(): Promise<void> {
  const cpu = cpus();
  process.stdout.write(
    `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown cpu'}), node ${process.version}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n` +
      `SQS ${endpointFor('sqs')}, DynamoDB ${endpointFor('dynamodb')}; ` +
      `${ROUNDS} rounds (+1 warm-up), ${MESSAGES} messages over ${MESSAGE_GROUPS} groups, ` +
      `${PUTS} puts, ${CONCURRENCY} in flight\n\n`,
  );

  const sqsRounds: SqsRound[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const result = await sqsRound(round);
    if (round > 0) sqsRounds.push(result);
  }
  const putRates = await withTable(async (table) => {
    const rates: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const rate = await ddbRound(table, round);
      if (round > 0) rates.push(rate);
    }
    return rates;
  });

  const rows: [string, number[]][] = [
    ['SQS FIFO SendMessage (msg/s)', sqsRounds.map((r) => r.sendPerS)],
    ['SQS FIFO Receive + DeleteMessageBatch (msg/s)', sqsRounds.map((r) => r.receiveDeletePerS)],
    ['SQS FIFO send → receive → delete (msg/s)', sqsRounds.map((r) => r.endToEndPerS)],
    ['DynamoDB conditional PutItem (puts/s)', putRates],
  ];
  const table = rows.map(([name, xs]) => [
    name,
    median(xs).toFixed(0),
    Math.min(...xs).toFixed(0),
    Math.max(...xs).toFixed(0),
  ]);
  const header = ['measure', 'median', 'min', 'max'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? '').length)));
  const lines = [
    row(header, widths),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...table.map((r) => row(r, widths)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const duplicates = sqsRounds.reduce((sum, r) => sum + r.duplicates, 0);
  // Not an error: the figures still stand, but this emulator breaks FIFO exactly-once under load.
  process.stdout.write(
    `SQS FIFO duplicate deliveries within the visibility timeout: ${duplicates} of ${ROUNDS * MESSAGES} messages\n`,
  );
}

try {
  await main();
} finally {
  sqs.destroy();
  ddb.destroy();
}
