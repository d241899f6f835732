import { randomUUID } from 'node:crypto';
import { DeleteStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { waitFor } from '@cloudcafe/local-platform';
import t from 'tap';
import { createAwsClients } from '../../src/aws.js';
import {
  type Checkpoint,
  type CheckpointStore,
  type ConsumedBatch,
  createKinesisConsumer,
} from '../../src/kinesis/consumer.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { useLocalEmulator } from '../support/emulator.js';
import { createStream, put } from '../support/kinesis.js';

// Against the lab's Kinesis emulator (moto): a stream of its own per test, two shards.

useLocalEmulator();
const aws = createAwsClients({ region: 'us-east-1' });
const client = aws.kinesis;
t.teardown(() => aws.destroy());
const logger = createLogger({ service: 'loyalty', level: 'silent' });

function memoryCheckpoints(): CheckpointStore & { saved: Map<string, string> } {
  const saved = new Map<string, string>();
  return {
    saved,
    load: async (epoch, shardId) => saved.get(`${epoch}/${shardId}`),
    save: async ({ streamEpoch, shardId, sequenceNumber }: Checkpoint) => {
      saved.set(`${streamEpoch}/${shardId}`, sequenceNumber);
    },
  };
}

function collector() {
  const values: string[] = [];
  const shards = new Set<string>();
  return {
    values,
    shards,
    handle: async (batch: ConsumedBatch) => {
      for (const record of batch.records) {
        values.push(Buffer.from(record.data).toString('utf8'));
        shards.add(record.shardId);
      }
    },
  };
}

const fastOptions = { idleMs: 50, rediscoverMs: 500, maxBackoffMs: 500 };

t.test('an idle stream is polled ever more slowly, and records are still read when they come', async (t) => {
  // Prepare: a client of its own whose GetRecords calls are counted
  const stream = `kit-consumer-${randomUUID().slice(0, 8)}`;
  await createStream(client, stream);
  t.teardown(() => client.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => {}));
  const counted = createAwsClients({ region: 'us-east-1' });
  t.teardown(() => counted.destroy());
  let polls = 0;
  counted.kinesis.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'GetRecordsCommand') polls++;
      return next(args);
    },
    { step: 'initialize', name: 'countPolls' },
  );
  const seen = collector();
  const consumer = createKinesisConsumer({
    client: counted.kinesis,
    streamName: stream,
    consumer: 'test',
    checkpoints: memoryCheckpoints(),
    handle: seen.handle,
    logger,
    idleMs: 50,
    maxIdleMs: 400,
  });
  // Act: 3 s of nothing on two shards
  consumer.start();
  await waitFor('the readers to start polling', async () => polls > 0);
  const from = polls;
  await new Promise((r) => setTimeout(r, 3000));
  const idlePolls = polls - from;
  await put(client, stream, ['late:1']);
  await waitFor('the late record', async () => seen.values.length === 1, { timeoutMs: 10_000 });
  await consumer.stop();
  // Assess: polling every 50 ms would be 120 polls; doubling to 400 ms is about 20
  t.ok(idlePolls <= 40, `idle shards backed off (${idlePolls} polls in 3 s over 2 shards)`);
  t.same(seen.values, ['late:1']);
});

t.test('reads every shard in order, checkpoints, and resumes after a restart', async (t) => {
  // Prepare
  const stream = `kit-consumer-${randomUUID().slice(0, 8)}`;
  await createStream(client, stream);
  t.teardown(() => client.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => {}));
  const keys = Array.from({ length: 16 }, (_, n) => `customer-${n}`);
  const first = keys.flatMap((key) => [1, 2, 3].map((n) => `${key}:${n}`));
  await put(client, stream, first);
  const checkpoints = memoryCheckpoints();
  const seen = collector();
  const metrics = createMetrics({ service: 'loyalty', platform: 'local' });
  // Act
  const consumer = createKinesisConsumer({
    client,
    streamName: stream,
    consumer: 'test',
    checkpoints,
    handle: seen.handle,
    logger,
    metrics,
    ...fastOptions,
  });
  consumer.start();
  await waitFor('every record', async () => seen.values.length >= first.length);
  await consumer.stop();
  // Assess
  t.equal(seen.values.length, first.length, 'each record once');
  t.equal(seen.shards.size, 2, 'both shards were read');
  for (const key of keys) {
    t.same(
      seen.values.filter((v) => v.startsWith(`${key}:`)),
      [`${key}:1`, `${key}:2`, `${key}:3`],
      `${key} in order`,
    );
  }
  t.equal(checkpoints.saved.size, 2, 'a checkpoint per shard');
  t.match((await metrics.prometheus()).body, /kinesis_records_consumed_total\{[^}]*\} 48/);
  metrics.close();

  // Act: more records while stopped, then a new consumer on the same checkpoints
  const second = keys.map((key) => `${key}:4`);
  await put(client, stream, second);
  const resumed = collector();
  const next = createKinesisConsumer({
    client,
    streamName: stream,
    consumer: 'test',
    checkpoints,
    handle: resumed.handle,
    logger,
    ...fastOptions,
  });
  next.start();
  await waitFor('the new records', async () => resumed.values.length >= second.length);
  await next.stop();
  // Assess
  t.same([...resumed.values].sort(), [...second].sort(), 'only what came after the checkpoint');
});

t.test('a failing handler gets the same batch again: nothing is skipped', async (t) => {
  const stream = `kit-consumer-${randomUUID().slice(0, 8)}`;
  await createStream(client, stream);
  t.teardown(() => client.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => {}));
  await put(client, stream, ['a:1', 'a:2', 'a:3']);
  const seen: string[] = [];
  let failures = 0;
  const consumer = createKinesisConsumer({
    client,
    streamName: stream,
    consumer: 'test',
    checkpoints: memoryCheckpoints(),
    logger,
    ...fastOptions,
    handle: async (batch) => {
      if (failures < 2) {
        failures += 1;
        throw new Error('the store is down');
      }
      for (const record of batch.records) seen.push(Buffer.from(record.data).toString('utf8'));
    },
  });
  consumer.start();
  await waitFor('the records after two failures', async () => seen.length >= 3);
  await consumer.stop();
  t.equal(failures, 2);
  t.same(seen, ['a:1', 'a:2', 'a:3']);
});

t.test('a checkpoint from a previous incarnation of the stream is not used', async (t) => {
  // Prepare: consume, then delete and re-create the stream under the same name (what a lab
  // restart does). The emulator numbers records from 1 again, so reading "after" the old
  // checkpoint would silently skip the new records.
  const stream = `kit-consumer-${randomUUID().slice(0, 8)}`;
  await createStream(client, stream);
  t.teardown(() => client.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => {}));
  await put(
    client,
    stream,
    Array.from({ length: 10 }, (_, n) => `old:${n}`),
  );
  const checkpoints = memoryCheckpoints();
  const old = collector();
  const first = createKinesisConsumer({
    client,
    streamName: stream,
    consumer: 'test',
    checkpoints,
    handle: old.handle,
    logger,
    ...fastOptions,
  });
  first.start();
  await waitFor('the old records', async () => old.values.length >= 10);
  await first.stop();
  await client.send(new DeleteStreamCommand({ StreamName: stream }));
  await waitFor('the stream to be gone', async () =>
    client.send(new DescribeStreamSummaryCommand({ StreamName: stream })).then(
      () => false,
      () => true,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 1100)); // creation timestamps have 1 s resolution
  await createStream(client, stream);
  await put(client, stream, ['new:1', 'new:2']);
  // Act
  const fresh = collector();
  const second = createKinesisConsumer({
    client,
    streamName: stream,
    consumer: 'test',
    checkpoints,
    handle: fresh.handle,
    logger,
    ...fastOptions,
  });
  second.start();
  await waitFor('the new records', async () => fresh.values.length >= 2, { timeoutMs: 15_000 });
  await second.stop();
  // Assess
  t.same(fresh.values, ['new:1', 'new:2'], 'read from the start of the new stream');
});
