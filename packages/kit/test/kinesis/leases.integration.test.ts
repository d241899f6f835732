import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { waitFor } from '@cloudcafe/local-platform';
import t from 'tap';
import { createAwsClients } from '../../src/aws.js';
import { type CheckpointStore, createKinesisConsumer } from '../../src/kinesis/consumer.js';
import { dynamoShardLeases } from '../../src/kinesis/leases.js';
import { createLogger } from '../../src/logger.js';
import { useLocalEmulator } from '../support/emulator.js';
import { createStream, put } from '../support/kinesis.js';

// Shard leases against the lab's emulator (moto): a lease table and a two-shard stream of the
// test's own. Two consumers of one group share the shards — each shard read by one of them —
// and one that stops hands its shards over. Lease expiry is checked with injected clocks, so no
// test waits on time. moto checks the condition expressions as DynamoDB does; what it cannot
// show is DynamoDB's per-item write ceiling, far above a renewal every few seconds.

useLocalEmulator();
const aws = createAwsClients({ region: 'us-east-1' });
t.teardown(() => aws.destroy());
const logger = createLogger({ service: 'loyalty', level: 'silent' });

async function leaseTable(): Promise<string> {
  const table = `kit-leases-${randomUUID().slice(0, 8)}`;
  await aws.dynamodb.send(
    new CreateTableCommand({
      TableName: table,
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  t.teardown(() => aws.dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => {}));
  return table;
}

async function stream(): Promise<string> {
  const name = `kit-leased-${randomUUID().slice(0, 8)}`;
  await createStream(aws.kinesis, name);
  t.teardown(() => aws.kinesis.send(new DeleteStreamCommand({ StreamName: name })).catch(() => {}));
  return name;
}

/** One checkpoint store for the whole group, as loyalty's Redis and analytics' warehouse are. */
function sharedCheckpoints(): CheckpointStore {
  const saved = new Map<string, string>();
  return {
    load: async (epoch, shardId) => saved.get(`${epoch}/${shardId}`),
    save: async ({ streamEpoch, shardId, sequenceNumber }) => {
      saved.set(`${streamEpoch}/${shardId}`, sequenceNumber);
    },
  };
}

/** A consumer instance of group `group` that records which shard each record came from. */
function instance(
  streamName: string,
  table: string,
  group: string,
  owner: string,
  checkpoints: CheckpointStore,
) {
  const read: { value: string; shardId: string }[] = [];
  const consumer = createKinesisConsumer({
    client: aws.kinesis,
    streamName,
    consumer: group,
    checkpoints,
    leases: dynamoShardLeases({ client: aws.documentClient, table, consumer: group, owner, ttlMs: 3000 }),
    leaseRenewMs: 200,
    handle: async (batch) => {
      for (const r of batch.records)
        read.push({ value: Buffer.from(r.data).toString('utf8'), shardId: r.shardId });
    },
    logger,
    idleMs: 50,
    maxIdleMs: 200,
    rediscoverMs: 500,
    maxBackoffMs: 500,
  });
  return { consumer, read, shards: () => new Set(read.map((r) => r.shardId)) };
}

const values = (prefix: string) =>
  Array.from({ length: 16 }, (_, n) => `customer-${n}`).flatMap((key) => [
    `${key}:${prefix}1`,
    `${key}:${prefix}2`,
  ]);

t.test('two instances of one group read each shard once between them, and hand over on stop', async (t) => {
  // Prepare
  const [name, table] = await Promise.all([stream(), leaseTable()]);
  const checkpoints = sharedCheckpoints();
  const a = instance(name, table, 'loyalty', 'worker-a', checkpoints);
  const b = instance(name, table, 'loyalty', 'worker-b', checkpoints);
  const first = values('a');

  // Act
  a.consumer.start();
  b.consumer.start();
  await put(aws.kinesis, name, first);
  await waitFor('every record', async () => a.read.length + b.read.length >= first.length);
  const shardsOfA = a.shards();
  const shardsOfB = b.shards();
  await a.consumer.stop();
  const second = values('b');
  await put(aws.kinesis, name, second);
  await waitFor('the records after the hand-over', async () =>
    second.every((v) => b.read.some((r) => r.value === v)),
  );
  await b.consumer.stop();

  // Assess
  const both = [...a.read, ...b.read].map((r) => r.value);
  t.same(
    both.filter((v) => first.includes(v)).sort(),
    [...first].sort(),
    'every record of the first batch read exactly once by the group',
  );
  t.equal(shardsOfA.size + shardsOfB.size, 2, 'the two shards were read');
  t.same(
    [...shardsOfA].filter((s) => shardsOfB.has(s)),
    [],
    'no shard was read by both instances',
  );
  t.same(
    b.read.filter((r) => second.includes(r.value)).length,
    second.length,
    'after a stopped, b read every new record, on both shards',
  );
  t.equal(new Set(b.read.filter((r) => second.includes(r.value)).map((r) => r.shardId)).size, 2);
});

t.test('a lease is taken from a dead worker only once it expires, and its renewal then fails', async (t) => {
  // Prepare: clocks of the test's own, so expiry needs no waiting
  const table = await leaseTable();
  let clock = 1_000_000;
  const lease = (owner: string, consumer = 'analytics') =>
    dynamoShardLeases({ client: aws.documentClient, table, consumer, owner, ttlMs: 1000, now: () => clock });
  const dead = lease('dead-worker');
  const live = lease('live-worker');

  // Act
  const taken = await dead.acquire('shardId-000000000000');
  const whileAlive = await live.acquire('shardId-000000000000');
  const otherGroup = await lease('loyalty-worker', 'loyalty').acquire('shardId-000000000000');
  const workersWhileAlive = await live.workers();
  clock += 1001;
  const afterExpiry = await live.acquire('shardId-000000000000');
  const deadRenews = await dead.renew('shardId-000000000000');
  const liveRenews = await live.renew('shardId-000000000000');
  await live.release('shardId-000000000000');
  const afterRelease = await dead.acquire('shardId-000000000000');

  // Assess
  t.ok(taken, 'a free lease is taken');
  t.notOk(whileAlive, 'a live lease of another worker is not');
  t.ok(otherGroup, 'another consumer group has leases of its own');
  t.equal(workersWhileAlive, 2, 'the live worker counts the holder and itself');
  t.ok(afterExpiry, 'an expired lease is taken over');
  t.notOk(deadRenews, 'the old holder can no longer renew it');
  t.ok(liveRenews, 'the new one can');
  t.ok(afterRelease, 'a released lease is free at once');
});
