import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { FlagStore, Logger, Metrics } from '@cloudcafe/kit';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { InstanceInvocationError, type InstancePool } from './instance-pool.js';

/**
 * The event source mapping and the invoke path of the local Lambda runtime, modelled on what
 * Lambda does with an SQS FIFO trigger:
 *
 * - poll the queue for batches of up to `batchSize`, filling a batch for up to `batchWindowMs`;
 * - scale out: while receives keep returning messages, start another concurrent invocation,
 *   up to `maxConcurrency` (each new instance a cold start); with the backlog gone, one poller;
 * - after an invocation, delete the records that succeeded; the failed ones (listed in
 *   `batchItemFailures`, or all of them when the invocation errored or timed out) are left to
 *   come back — after a visibility timeout that grows with their receive count (retry with
 *   backoff), until the queue's redrive policy moves them to the DLQ;
 * - fault flags `lambda-error` (the invocation fails before any work, as FIS's
 *   `aws:lambda:invocation-error`) and `lambda-delay` (the invocation starts late, as
 *   `aws:lambda:invocation-add-delay`), read at every invocation.
 *
 * Nothing is acknowledged before the handler finished, so a kill of the runtime at any point
 * loses nothing: unacknowledged messages come back when their visibility timeout runs out.
 */

export interface RuntimeSettings {
  readonly functionName: string;
  readonly queueUrl: string;
  readonly dlqUrl: string | undefined;
  readonly batchSize: number;
  readonly batchWindowMs: number;
  readonly maxConcurrency: number;
  readonly timeoutMs: number;
  readonly initTimeoutMs: number;
  /** The queue's visibility timeout: in-flight batches are kept invisible by a heartbeat. */
  readonly visibilitySeconds: number;
  readonly retryBaseSeconds: number;
  readonly retryMaxSeconds: number;
}

export type InvocationOutcome = 'ok' | 'partial' | 'error' | 'timeout' | 'injected-error';

export interface InvocationRecord {
  readonly requestId: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly cold: boolean;
  readonly initMs: number | undefined;
  readonly injectedDelayMs: number;
  readonly instanceId: number | undefined;
  readonly records: number;
  readonly failed: number;
  readonly outcome: InvocationOutcome;
  readonly error?: string;
}

const HISTORY = 5000;
const RECEIVE_WAIT_SECONDS = 1;

export class LambdaRuntime {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly history: InvocationRecord[] = [];
  private timers: NodeJS.Timeout[] = [];
  private counters = { invocations: 0, coldStarts: 0, errors: 0, messagesDeleted: 0, messagesRetried: 0 };
  private depth: { queue: number | undefined; dlq: number | undefined } = {
    queue: undefined,
    dlq: undefined,
  };
  peakConcurrency = 0;

  constructor(
    readonly settings: RuntimeSettings,
    private readonly sqs: SQSClient,
    private readonly pool: InstancePool,
    private readonly flags: FlagStore,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  start(idleReapMs: number): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.dispatch();
    this.timers = [
      setInterval(() => {
        const reaped = this.pool.reap();
        if (reaped > 0) this.log.info({ reaped }, 'idle instances recycled');
      }, idleReapMs),
      setInterval(() => void this.sampleDepth(), 5000),
    ];
    void this.sampleDepth();
  }

  /** Stops polling, lets running invocations finish (bounded by their timeout), then ends instances. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.loop;
    await Promise.allSettled([...this.inflight]);
    await this.pool.close();
  }

  get concurrency(): number {
    return this.inflight.size;
  }

  status() {
    return {
      functionName: this.settings.functionName,
      polling: !this.stopped,
      settings: this.settings,
      concurrency: this.inflight.size,
      peakConcurrency: this.peakConcurrency,
      ...this.counters,
      queueDepth: this.depth.queue,
      dlqDepth: this.depth.dlq,
      instances: this.pool.view(),
      flags: {
        'lambda-delay': this.flags.value('lambda-delay'),
        'lambda-error': this.flags.value('lambda-error'),
      },
    };
  }

  /** Invocations that started at or after `since` (epoch ms), oldest first. */
  invocationsSince(since: number): InvocationRecord[] {
    return this.history.filter((r) => Date.parse(r.startedAt) >= since);
  }

  recycle(): number {
    return this.pool.recycleAll();
  }

  private async dispatch(): Promise<void> {
    while (!this.stopped) {
      if (this.inflight.size >= this.settings.maxConcurrency) {
        await Promise.race(this.inflight);
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receiveBatch();
      } catch (error) {
        this.log.warn({ error: (error as Error).message }, 'receive failed; polling again in 1 s');
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) continue;
      const invocation = this.invoke(messages).finally(() => this.inflight.delete(invocation));
      this.inflight.add(invocation);
      this.peakConcurrency = Math.max(this.peakConcurrency, this.inflight.size);
    }
  }

  /** One batch: a long poll for the first messages, then fill it for up to the batching window. */
  private async receiveBatch(): Promise<Message[]> {
    const { batchSize, batchWindowMs, queueUrl } = this.settings;
    const receive = async (max: number, waitSeconds: number) =>
      (
        await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: max,
            WaitTimeSeconds: waitSeconds,
            // Both spellings: the older one is what ElasticMQ reads, the newer what AWS prefers.
            AttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        )
      ).Messages ?? [];
    const batch = await receive(batchSize, RECEIVE_WAIT_SECONDS);
    if (batch.length === 0) return batch;
    const windowEnds = Date.now() + batchWindowMs;
    while (batch.length < batchSize && Date.now() < windowEnds && !this.stopped) {
      const more = await receive(batchSize - batch.length, 0);
      if (more.length === 0) await sleep(Math.min(50, Math.max(0, windowEnds - Date.now())));
      batch.push(...more);
    }
    return batch;
  }

  private async invoke(messages: Message[]): Promise<void> {
    const { functionName, timeoutMs, initTimeoutMs } = this.settings;
    const requestId = randomUUID();
    const started = Date.now();
    const startedPerf = performance.now();
    const event: SQSEvent = { Records: messages.map((m) => toRecord(m, this.settings.queueUrl)) };
    const injectedDelayMs = this.flags.value('lambda-delay');
    const errorRate = this.flags.value('lambda-error');
    let failedIds: Set<string>;
    let outcome: InvocationOutcome = 'ok';
    let cold = false;
    let initMs: number | undefined;
    let instanceId: number | undefined;
    let errorMessage: string | undefined;
    // A slow cold start plus a long invocation can outlast the queue's visibility timeout; the
    // batch is kept invisible while it is being worked on, as Lambda's poller does. If the
    // runtime dies, the heartbeat dies with it and the messages come back within one timeout.
    const heartbeat = setInterval(
      () => void this.extendVisibility(messages),
      (this.settings.visibilitySeconds * 1000) / 3,
    );
    try {
      if (errorRate > 0 && Math.random() < errorRate) {
        outcome = 'injected-error';
        throw new Error('injected fault: invocation failed (lambda-error flag)');
      }
      if (injectedDelayMs > 0) await sleep(injectedDelayMs);
      const result = await this.pool.invoke(event, requestId, { initTimeoutMs, timeoutMs });
      ({ cold, initMs, instanceId } = result);
      failedIds = failedItems(result.response, event);
      if (failedIds.size > 0) outcome = 'partial';
    } catch (error) {
      if (error instanceof InstanceInvocationError) {
        outcome = error.timedOut ? 'timeout' : 'error';
        ({ cold, initMs, instanceId } = error);
      } else if (outcome !== 'injected-error') outcome = 'error';
      errorMessage = (error as Error).message;
      failedIds = new Set(event.Records.map((r) => r.messageId));
    }
    clearInterval(heartbeat);
    const durationMs = performance.now() - startedPerf;
    this.counters.invocations += 1;
    if (cold) this.counters.coldStarts += 1;
    if (outcome !== 'ok' && outcome !== 'partial') this.counters.errors += 1;
    if (cold) this.metrics.inc('lambda_cold_starts_total', { function: functionName });
    this.metrics.observe(
      'lambda_invocation_duration_ms',
      { function: functionName, start: cold ? 'cold' : 'warm' },
      durationMs,
    );
    this.remember({
      requestId,
      startedAt: new Date(started).toISOString(),
      durationMs: Math.round(durationMs),
      cold,
      initMs: initMs === undefined ? undefined : Math.round(initMs),
      injectedDelayMs,
      instanceId,
      records: messages.length,
      failed: failedIds.size,
      outcome,
      ...(errorMessage && { error: errorMessage }),
    });
    if (outcome !== 'ok') {
      this.log.warn(
        { requestId, outcome, failed: failedIds.size, records: messages.length, error: errorMessage },
        'invocation did not complete every record',
      );
    }
    await this.settle(messages, failedIds);
  }

  /** Deletes what succeeded; pushes each failure's next visibility out by its backoff. */
  private async settle(messages: Message[], failedIds: Set<string>): Promise<void> {
    const { queueUrl, retryBaseSeconds, retryMaxSeconds } = this.settings;
    const done = messages.filter((m) => m.MessageId && !failedIds.has(m.MessageId));
    const failed = messages.filter((m) => m.MessageId && failedIds.has(m.MessageId));
    try {
      if (done.length > 0) {
        const { Failed } = await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        this.counters.messagesDeleted += done.length - (Failed?.length ?? 0);
      }
      if (failed.length > 0) {
        this.counters.messagesRetried += failed.length;
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: failed.map((m, i) => {
              const receives = Number(m.Attributes?.ApproximateReceiveCount ?? '1');
              return {
                Id: String(i),
                ReceiptHandle: m.ReceiptHandle,
                VisibilityTimeout: Math.min(retryMaxSeconds, retryBaseSeconds * 2 ** (receives - 1)),
              };
            }),
          }),
        );
      }
    } catch (error) {
      // Not fatal: an undeleted success comes back and the ledger makes it a no-op; a failure
      // whose backoff was not set comes back after the queue's own visibility timeout.
      this.log.warn({ error: (error as Error).message }, 'could not settle a batch with the queue');
    }
  }

  private async extendVisibility(messages: Message[]): Promise<void> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.settings.queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: this.settings.visibilitySeconds,
          })),
        }),
      );
    } catch (error) {
      this.log.warn(
        { error: (error as Error).message },
        'could not extend the visibility of a batch in flight',
      );
    }
  }

  private remember(record: InvocationRecord): void {
    this.history.push(record);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
  }

  private async sampleDepth(): Promise<void> {
    const depthOf = async (url: string) => {
      const { Attributes } = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    };
    try {
      this.depth.queue = await depthOf(this.settings.queueUrl);
      this.metrics.set('sqs_queue_depth', { queue: queueName(this.settings.queueUrl) }, this.depth.queue);
      if (this.settings.dlqUrl) {
        this.depth.dlq = await depthOf(this.settings.dlqUrl);
        this.metrics.set('dlq_depth', { queue: queueName(this.settings.dlqUrl) }, this.depth.dlq);
      }
    } catch (error) {
      this.log.debug({ error: (error as Error).message }, 'queue depth sample failed');
    }
  }

  /**
   * The local stand-in for CloudWatch Logs' EMF extraction: the handler's metric lines (its
   * payment counters, its AWS calls) become the runtime's metrics, so they reach /metrics and
   * CloudWatch like any service's. The runtime records the lambda_* metrics itself, from the outside, so the
   * handler's own copies are not counted twice. Other lines are logs and pass through.
   */
  bridgeLine(line: string): void {
    const doc = line.includes('"_aws"') ? parseEmf(line) : undefined;
    if (!doc) {
      process.stdout.write(`${line}\n`);
      return;
    }
    const { name, dimensions, fields } = doc;
    const value = Number(fields[name]);
    if (!Number.isFinite(value)) return;
    // Each datum is written once summed (Service, Platform) and once more per label set when
    // the metric has dimensions: take exactly one of the two, or counts would double.
    const labelled = dimensions.length > 2;
    switch (name) {
      case 'payments_failed_total':
        if (labelled) this.metrics.inc(name, { reason: String(fields.reason) }, value);
        return;
      case 'payments_charged_total':
      case 'payment_duplicates_prevented_total':
      case 'receipts_written_total':
        if (!labelled) this.metrics.inc(name, value);
        return;
      case 'aws_calls_total':
        // The function's own calls to the emulated APIs. EMF carries a metric's dimensions
        // (here `api`) and not its other labels, so the operation is not known: counted under
        // `unknown`, apart from the runtime's own polling calls, which know theirs.
        if (labelled) this.metrics.inc(name, { api: String(fields.api), operation: 'unknown' }, value);
        return;
      default:
      // lambda_* are recorded by the runtime itself; nothing else is expected from the handler.
    }
  }
}

function parseEmf(
  line: string,
): { name: string; dimensions: string[]; fields: Record<string, unknown> } | undefined {
  try {
    const fields = JSON.parse(line) as Record<string, unknown> & {
      _aws?: { CloudWatchMetrics?: { Dimensions?: string[][]; Metrics?: { Name?: string }[] }[] };
    };
    const directive = fields._aws?.CloudWatchMetrics?.[0];
    const name = directive?.Metrics?.[0]?.Name;
    return name ? { name, dimensions: directive?.Dimensions?.[0] ?? [], fields } : undefined;
  } catch {
    return undefined;
  }
}

const queueName = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

function failedItems(response: unknown, event: SQSEvent): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  const failures = (response as { batchItemFailures?: unknown } | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  // Lambda treats a malformed partial response as a failure of the whole batch.
  if (!Array.isArray(failures)) return all;
  const ids = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    ids.add(id);
  }
  return ids;
}

function toRecord(message: Message, queueUrl: string): SQSRecord {
  const a = message.Attributes ?? {};
  const name = queueName(queueUrl);
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '',
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
      ...(a.SequenceNumber && { SequenceNumber: a.SequenceNumber }),
      ...(a.MessageGroupId && { MessageGroupId: a.MessageGroupId }),
      ...(a.MessageDeduplicationId && { MessageDeduplicationId: a.MessageDeduplicationId }),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    awsRegion: 'us-east-1',
  };
}
