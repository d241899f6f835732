import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';
import type { ShardLeases } from './leases.js';

/** One record as a handler sees it. */
export interface ConsumedRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** When Kinesis accepted the record (not event time). */
  readonly arrivedAt: Date;
  readonly data: Uint8Array;
}

/** Where a shard has been read up to. */
export interface Checkpoint {
  /**
   * Which incarnation of the stream the sequence number belongs to (its creation time). A lab
   * restart re-creates the stream, so old sequence numbers mean nothing in the new one.
   */
  readonly streamEpoch: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** A batch of one shard, in order, and the checkpoint that covers it once applied. */
export interface ConsumedBatch {
  readonly shardId: string;
  readonly records: readonly ConsumedRecord[];
  /** The checkpoint after the last record; a handler that commits it itself does so atomically. */
  readonly checkpoint: Checkpoint;
}

/**
 * Where checkpoints live. `save` runs after the handler succeeded; a store whose handler writes
 * the checkpoint in its own transaction (analytics) makes `save` a no-op.
 */
export interface CheckpointStore {
  load(streamEpoch: string, shardId: string): Promise<string | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

/** Options for {@link createKinesisConsumer}. */
export interface KinesisConsumerOptions {
  client: KinesisClient;
  streamName: string;
  /** Names the consumer in metrics and logs (`loyalty`, `analytics`). */
  consumer: string;
  checkpoints: CheckpointStore;
  /** Applies one batch; throwing retries the same batch (nothing is checkpointed). */
  handle(batch: ConsumedBatch): Promise<void>;
  logger: Logger;
  metrics?: Metrics;
  /** GetRecords limit (default 500). */
  batchSize?: number;
  /**
   * Pause after a poll of a shard that found nothing (default 250 ms). It doubles with each
   * empty poll in a row, up to `maxIdleMs`, and drops back as soon as records come.
   */
  idleMs?: number;
  /**
   * Longest pause between polls of an idle shard (default 2 s). AWS serves 5 GetRecords a second
   * per shard to all its readers together: idle readers polling flat out would use it up.
   */
  maxIdleMs?: number;
  /** Longest pause after an error (default 5 s; doubles from 200 ms). */
  maxBackoffMs?: number;
  /** How often to look for new shards (default 30 s). */
  rediscoverMs?: number;
  /**
   * Shard leases shared by every instance of this consumer: each shard is then read by one
   * instance at a time (its fair share of the shards), and a dead instance's shards are taken
   * over once its leases expire. Without them this process reads every shard, which is right
   * for exactly one instance (ADR 0018).
   */
  leases?: ShardLeases;
  /** How often held leases are renewed and free ones looked for (default 3 s). */
  leaseRenewMs?: number;
}

/** A running consumer. */
export interface KinesisConsumer {
  /** Starts a reader per shard; resolves at once. */
  start(): void;
  /** Stops every reader after its current batch (and its checkpoint), bounded by `signal`. */
  stop(signal?: AbortSignal): Promise<void>;
  /** Per shard: the last sequence number applied in this process. */
  positions(): Record<string, string>;
  /** The stream incarnation in use, once known. */
  readonly streamEpoch: string | undefined;
}

const errorName = (error: unknown): string => (error as { name?: string } | undefined)?.name ?? 'Error';

/**
 * A polling Kinesis consumer that reads the shards of a stream — every shard, or with `leases`
 * the ones this instance holds — one reader per shard, and hands batches in shard order to
 * `handle`. Delivery is at least once: a crash between the
 * handler and the checkpoint replays the batch, so handlers must be idempotent per event.
 *
 * - Start position: after the stored checkpoint of this stream incarnation, else TRIM_HORIZON.
 * - A checkpoint the stream rejects (trimmed, or from another incarnation) → TRIM_HORIZON,
 *   logged as a warning; per-event idempotency absorbs the replay.
 * - Expired iterators are re-acquired from the last applied position; errors back off.
 *
 * @example
 * ```ts
 * const consumer = createKinesisConsumer({
 *   client: kit.aws.kinesis, streamName: STREAMS.orderEvents, consumer: 'loyalty',
 *   checkpoints, handle: (batch) => apply(batch), logger, metrics,
 * });
 * consumer.start();
 * shutdown.register('consumers', 'kinesis', (signal) => consumer.stop(signal));
 * ```
 */
export function createKinesisConsumer(options: KinesisConsumerOptions): KinesisConsumer {
  const { client, streamName, consumer, checkpoints, logger } = options;
  const log = logger.child({ consumer, stream: streamName });
  const batchSize = options.batchSize ?? 500;
  const idleMs = options.idleMs ?? 250;
  const maxIdleMs = Math.max(idleMs, options.maxIdleMs ?? 2000);
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const rediscoverMs = options.rediscoverMs ?? 30_000;
  const leaseRenewMs = options.leaseRenewMs ?? 3000;
  const { leases } = options;
  const controller = new AbortController();
  const readers = new Map<string, { done: Promise<void>; controller: AbortController }>();
  const positions = new Map<string, string>();
  let epoch: string | undefined;
  let shards: readonly string[] = [];
  let discovery: Promise<void> | undefined;
  let leasing: Promise<void> | undefined;

  const pause = (ms: number) => sleep(ms, undefined, { signal: controller.signal }).catch(() => {});

  async function describeEpoch(): Promise<string> {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), {
      abortSignal: controller.signal,
    });
    const created = summary.StreamDescriptionSummary?.StreamCreationTimestamp;
    return created ? String(created.getTime()) : 'unknown';
  }

  async function listShardIds(): Promise<string[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }),
        { abortSignal: controller.signal },
      );
      for (const shard of page.Shards ?? []) if (shard.ShardId) ids.push(shard.ShardId);
      nextToken = page.NextToken;
    } while (nextToken);
    return ids;
  }

  async function iteratorFor(
    shardId: string,
    after: string | undefined,
    signal: AbortSignal,
  ): Promise<string> {
    const request = (type: ShardIteratorType, sequence?: string) =>
      client.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(sequence && { StartingSequenceNumber: sequence }),
        }),
        { abortSignal: signal },
      );
    if (after) {
      try {
        const answer = await request('AFTER_SEQUENCE_NUMBER', after);
        if (answer.ShardIterator) return answer.ShardIterator;
      } catch (error) {
        if (errorName(error) !== 'InvalidArgumentException') throw error;
        // The checkpoint names a record the stream no longer has (trimmed, or the stream was
        // re-created): start over and let per-event idempotency skip what was applied.
        log.warn(
          { shardId, after, err: error },
          'checkpoint rejected by the stream: reading from TRIM_HORIZON',
        );
      }
    }
    const answer = await request('TRIM_HORIZON');
    if (!answer.ShardIterator) throw new Error(`no iterator for ${shardId}`);
    return answer.ShardIterator;
  }

  async function readShard(shardId: string, streamEpoch: string, signal: AbortSignal): Promise<void> {
    let backoff = 200;
    let idle = idleMs;
    let iterator: string | undefined;
    const stored = await retrying(() => checkpoints.load(streamEpoch, shardId), `load checkpoint ${shardId}`);
    if (stored === stopped) return;
    let position = stored;
    if (position) positions.set(shardId, position);
    log.info({ shardId, from: stored ?? 'TRIM_HORIZON' }, 'shard reader starting');
    const wait = (ms: number) => sleep(ms, undefined, { signal }).catch(() => {});
    while (!signal.aborted) {
      try {
        iterator ??= await iteratorFor(shardId, position, signal);
        const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }), {
          abortSignal: signal,
        });
        const records: ConsumedRecord[] = (page.Records ?? []).flatMap((record) =>
          record.SequenceNumber && record.Data
            ? [
                {
                  shardId,
                  sequenceNumber: record.SequenceNumber,
                  partitionKey: record.PartitionKey ?? '',
                  arrivedAt: record.ApproximateArrivalTimestamp ?? new Date(),
                  data: record.Data,
                },
              ]
            : [],
        );
        const last = records.at(-1);
        if (last) {
          const checkpoint = { streamEpoch, shardId, sequenceNumber: last.sequenceNumber };
          // Applied and checkpointed before the next page: a retry replays exactly this batch.
          await options.handle({ shardId, records, checkpoint });
          await checkpoints.save(checkpoint);
          position = last.sequenceNumber;
          positions.set(shardId, position);
          options.metrics?.inc(
            'kinesis_records_consumed_total',
            { stream: streamName, consumer },
            records.length,
          );
          options.metrics?.set(
            'consumer_lag_ms',
            { stream: streamName, consumer },
            Math.max(0, Date.now() - last.arrivedAt.getTime()),
          );
        } else if (page.MillisBehindLatest === 0) {
          options.metrics?.set('consumer_lag_ms', { stream: streamName, consumer }, 0);
        }
        backoff = 200;
        if (!page.NextShardIterator) {
          log.info({ shardId }, 'shard closed: reader done');
          return;
        }
        iterator = page.NextShardIterator;
        if (records.length > 0) idle = idleMs;
        else {
          await wait(idle);
          idle = Math.min(idle * 2, maxIdleMs);
        }
      } catch (error) {
        if (signal.aborted) return;
        // Any failure (expired iterator, link cut, handler error) restarts from the last
        // applied record, so nothing is skipped and the failed batch is tried again.
        iterator = undefined;
        const level = errorName(error) === 'ExpiredIteratorException' ? 'info' : 'warn';
        log[level]({ shardId, err: error, backoffMs: backoff }, 'shard read failed: retrying');
        await wait(backoff);
        backoff = Math.min(backoff * 2, maxBackoffMs);
      }
    }
  }

  const stopped = Symbol('stopped');
  async function retrying<T>(call: () => Promise<T>, what: string): Promise<T | typeof stopped> {
    let backoff = 200;
    while (!controller.signal.aborted) {
      try {
        return await call();
      } catch (error) {
        if (controller.signal.aborted) break;
        log.warn({ err: error, backoffMs: backoff }, `${what} failed: retrying`);
        await pause(backoff);
        backoff = Math.min(backoff * 2, maxBackoffMs);
      }
    }
    return stopped;
  }

  async function discover(): Promise<void> {
    while (!controller.signal.aborted) {
      const found = await retrying(async () => {
        const streamEpoch = await describeEpoch();
        return { streamEpoch, shardIds: await listShardIds() };
      }, 'discover shards');
      if (found === stopped) return;
      if (epoch !== undefined && epoch !== found.streamEpoch) {
        // The stream was deleted and re-created under us (a lab restart): the old readers
        // hold iterators of a stream that no longer exists and will fail; new ones start.
        log.warn({ from: epoch, to: found.streamEpoch }, 'stream re-created: restarting shard readers');
        for (const reader of readers.values()) reader.controller.abort();
        await Promise.all([...readers.values()].map((reader) => reader.done));
        readers.clear();
        positions.clear();
      }
      epoch = found.streamEpoch;
      shards = found.shardIds;
      if (leases) await retrying(() => balanced(leases), 'take shard leases');
      else for (const shardId of shards) if (!readers.has(shardId)) startReader(shardId, found.streamEpoch);
      await pause(rediscoverMs);
    }
  }

  function startReader(shardId: string, streamEpoch: string): void {
    const own = new AbortController();
    const done = readShard(shardId, streamEpoch, AbortSignal.any([controller.signal, own.signal])).catch(
      (error: unknown) => {
        log.error({ shardId, err: error }, 'shard reader stopped');
      },
    );
    readers.set(shardId, { done, controller: own });
  }

  /**
   * Renews the leases held (a lost one stops its reader at once), then takes free or expired
   * ones up to this instance's fair share: the shards divided by the workers holding leases.
   * Nothing is taken from a live worker, so a late instance waits for a lease to fall free.
   */
  async function balanceLeases(shardLeases: ShardLeases): Promise<void> {
    for (const [shardId, reader] of [...readers]) {
      if (await shardLeases.renew(shardId)) continue;
      log.warn({ shardId }, 'shard lease taken by another worker: reader stopping');
      reader.controller.abort();
      readers.delete(shardId);
      positions.delete(shardId);
    }
    if (epoch === undefined || controller.signal.aborted) return;
    const share = Math.ceil(shards.length / (await shardLeases.workers()));
    for (const shardId of shards) {
      if (readers.size >= share) break;
      if (readers.has(shardId) || !(await shardLeases.acquire(shardId))) continue;
      log.info({ shardId, owner: shardLeases.owner }, 'shard lease taken');
      startReader(shardId, epoch);
    }
  }

  /** One balance at a time: discovery and the renewal loop must not both start a shard's reader. */
  let balancing: Promise<void> = Promise.resolve();
  function balanced(shardLeases: ShardLeases): Promise<void> {
    const next = balancing.then(() => balanceLeases(shardLeases));
    balancing = next.catch(() => {});
    return next;
  }

  async function keepLeases(shardLeases: ShardLeases): Promise<void> {
    while (!controller.signal.aborted) {
      await pause(leaseRenewMs);
      if (controller.signal.aborted) break;
      await retrying(() => balanced(shardLeases), 'renew shard leases');
    }
  }

  /** Gives up every lease held, so the other workers take the shards over without waiting. */
  async function releaseLeases(): Promise<void> {
    if (!leases) return;
    await Promise.all(
      [...readers.keys()].map((shardId) =>
        leases.release(shardId).catch((error: unknown) => {
          log.warn({ shardId, err: error }, 'shard lease not released: it expires by itself');
        }),
      ),
    );
  }

  return {
    start() {
      discovery ??= discover();
      if (leases) leasing ??= keepLeases(leases);
    },
    async stop(signal?: AbortSignal) {
      controller.abort();
      const all = Promise.all([
        discovery,
        leasing,
        ...[...readers.values()].map((reader) => reader.done),
      ]).then(releaseLeases);
      if (!signal) {
        await all;
        return;
      }
      await Promise.race([
        all,
        new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      ]);
    },
    positions: () => Object.fromEntries(positions),
    get streamEpoch() {
      return epoch;
    },
  };
}
