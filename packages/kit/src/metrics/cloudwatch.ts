import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE } from '@cloudcafe/contracts';
import type { Logger } from 'pino';
import type { MetricDefinition, MetricName } from './catalogue.js';
import type { Metrics, MetricsSnapshot, SeriesSnapshot } from './registry.js';

/** The CloudWatch namespace every CloudCafe metric lives in. */
export { METRICS_NAMESPACE };

/** PutMetricData's limits: datums per call, request size, distinct values per datum. */
export const CLOUDWATCH_LIMITS = {
  datumsPerRequest: 1000,
  // The documented limit is 1 MB per request; leave room for the envelope and encoding.
  bytesPerRequest: 900_000,
  valuesPerDatum: 150,
} as const;

/** Options for {@link createCloudWatchExporter}. */
export interface CloudWatchExporterOptions {
  metrics: Metrics;
  /** A CloudWatch client; the kit's `createAwsClients().cloudwatch` is the usual one. */
  client: Pick<CloudWatchClient, 'send'>;
  logger: Logger;
  /** Period of the automatic flush started by `start()`. */
  intervalMs: number;
  namespace?: string;
  /** 60 (standard) or 1 (high resolution, billed as such on AWS). Default 60. */
  storageResolution?: 1 | 60;
  /**
   * How histograms travel: `values` (Values/Counts, keeps percentiles; default) or
   * `statistics` (StatisticValues: count, sum, min, max only; lighter on an emulator).
   */
  histograms?: 'values' | 'statistics';
  /** Datums kept for retry after failed flushes; the oldest are dropped beyond it. */
  maxPendingDatums?: number;
}

/** The outcome of one flush. */
export interface FlushResult {
  sent: number;
  /** Datums that failed and wait for the next flush. */
  pending: number;
  dropped: number;
}

/** Publishes a registry's metrics to CloudWatch in batches. */
export interface CloudWatchExporter {
  /** Starts the periodic flush (the timer does not keep the process alive). */
  start(): void;
  /** Drains the registry and sends everything, plus what failed before. Never throws. */
  flush(): Promise<FlushResult>;
  /** Stops the timer and flushes one last time. */
  stop(): Promise<FlushResult>;
}

/**
 * Sends the registry's metrics to CloudWatch with PutMetricData: namespace `CloudCafe`,
 * dimensions `Service` and `Platform` (plus, for metrics whose catalogue entry lists
 * `dimensions`, a second datum with those labels). Batches by CloudWatch's limits. A failed
 * batch is logged and retried at the next flush; nothing here throws into a request.
 *
 * @example
 * ```ts
 * const exporter = createCloudWatchExporter({
 *   metrics, client: aws.cloudwatch, logger, intervalMs: config.METRICS_FLUSH_INTERVAL_MS,
 * });
 * exporter.start();
 * shutdown.register('flush', 'cloudwatch metrics', () => exporter.stop());
 * ```
 */
export function createCloudWatchExporter(options: CloudWatchExporterOptions): CloudWatchExporter {
  const namespace = options.namespace ?? METRICS_NAMESPACE;
  const maxPending = options.maxPendingDatums ?? 20_000;
  let pending: MetricDatum[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<FlushResult> = Promise.resolve({ sent: 0, pending: 0, dropped: 0 });

  async function flushOnce(): Promise<FlushResult> {
    const fresh = toDatums(options.metrics.drain(), {
      service: options.metrics.service,
      platform: options.metrics.platform,
      storageResolution: options.storageResolution ?? 60,
      histograms: options.histograms ?? 'values',
    });
    const queue = [...pending, ...fresh];
    pending = [];
    let sent = 0;
    for (const batch of toBatches(queue)) {
      try {
        await options.client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }));
        sent += batch.length;
      } catch (err) {
        options.logger.warn(
          { err, datums: batch.length },
          'CloudWatch flush failed; retrying at the next flush',
        );
        pending.push(...batch);
      }
    }
    let dropped = 0;
    if (pending.length > maxPending) {
      dropped = pending.length - maxPending;
      pending = pending.slice(dropped);
      options.logger.error({ dropped }, 'CloudWatch unreachable for too long; dropped the oldest datums');
    }
    return { sent, pending: pending.length, dropped };
  }

  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void this.flush(), options.intervalMs);
      timer.unref();
    },
    flush() {
      // One flush at a time: a slow CloudWatch must not make flushes overlap and interleave.
      running = running.then(flushOnce, flushOnce);
      return running;
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      return this.flush();
    },
  };
}

interface DatumContext {
  service: string;
  platform: string;
  storageResolution: 1 | 60;
  histograms: 'values' | 'statistics';
}

interface Group {
  name: MetricName;
  definition: MetricDefinition;
  dimensions: Record<string, string>;
  value: number;
  distribution: Map<number, number>;
}

/**
 * Turns a drained snapshot into CloudWatch datums: one aggregate per metric over
 * `Service` + `Platform`, and one per combination of the metric's catalogue `dimensions`.
 */
export function toDatums(snapshot: MetricsSnapshot, context: DatumContext): MetricDatum[] {
  const groups = new Map<string, Group>();
  const add = (series: SeriesSnapshot, dimensionNames: readonly string[]) => {
    const dimensions: Record<string, string> = {};
    for (const name of dimensionNames) dimensions[name] = series.labels[name] ?? '';
    const key = `${series.name}${JSON.stringify(dimensions)}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        name: series.name,
        definition: series.definition,
        dimensions,
        value: 0,
        distribution: new Map(),
      };
      groups.set(key, group);
    }
    group.value += series.value ?? 0;
    for (const [value, count] of series.distribution ?? []) {
      group.distribution.set(value, (group.distribution.get(value) ?? 0) + count);
    }
  };
  for (const series of snapshot.series) {
    add(series, []);
    if (series.definition.dimensions?.length) add(series, series.definition.dimensions);
  }

  const datums: MetricDatum[] = [];
  for (const group of groups.values()) {
    const base: MetricDatum = {
      MetricName: group.name,
      Dimensions: [
        { Name: 'Service', Value: context.service },
        { Name: 'Platform', Value: context.platform },
        ...Object.entries(group.dimensions).map(([Name, Value]) => ({ Name, Value })),
      ],
      Timestamp: snapshot.timestamp,
      Unit: group.definition.unit,
      StorageResolution: context.storageResolution,
    };
    if (group.definition.type !== 'histogram') {
      datums.push({ ...base, Value: group.value });
    } else if (context.histograms === 'statistics') {
      datums.push({ ...base, StatisticValues: statistics(group.distribution) });
    } else {
      const entries = [...group.distribution];
      for (let i = 0; i < entries.length; i += CLOUDWATCH_LIMITS.valuesPerDatum) {
        const chunk = entries.slice(i, i + CLOUDWATCH_LIMITS.valuesPerDatum);
        datums.push({
          ...base,
          Values: chunk.map(([value]) => value),
          Counts: chunk.map(([, count]) => count),
        });
      }
    }
  }
  return datums;
}

function statistics(distribution: ReadonlyMap<number, number>) {
  let sampleCount = 0;
  let sum = 0;
  let minimum = Number.POSITIVE_INFINITY;
  let maximum = Number.NEGATIVE_INFINITY;
  for (const [value, count] of distribution) {
    sampleCount += count;
    sum += value * count;
    minimum = Math.min(minimum, value);
    maximum = Math.max(maximum, value);
  }
  return { SampleCount: sampleCount, Sum: sum, Minimum: minimum, Maximum: maximum };
}

/** Splits datums into requests within CloudWatch's per-request count and size limits. */
export function toBatches(datums: readonly MetricDatum[]): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let batch: MetricDatum[] = [];
  let bytes = 0;
  for (const datum of datums) {
    const size = JSON.stringify(datum).length;
    if (
      batch.length > 0 &&
      (batch.length >= CLOUDWATCH_LIMITS.datumsPerRequest || bytes + size > CLOUDWATCH_LIMITS.bytesPerRequest)
    ) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(datum);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
