import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE, toDatums } from './cloudwatch.js';
import type { Metrics } from './registry.js';

/** EMF caps a metric's value array at 100 entries. */
const EMF_VALUES_PER_METRIC = 100;

/** Options for {@link createEmfLogger}. */
export interface EmfLoggerOptions {
  metrics: Metrics;
  /** Where each JSON line goes; default stdout, which Lambda ships to CloudWatch Logs. */
  write?: (line: string) => void;
  namespace?: string;
}

/** Writes a registry's metrics as CloudWatch embedded metric format lines. */
export interface EmfLogger {
  /** Drains the registry and writes one EMF line per datum; returns the number of lines. */
  flush(): number;
}

/**
 * For Lambda: instead of calling PutMetricData, write the metrics as embedded metric format
 * (EMF) JSON lines to stdout, which CloudWatch turns into metrics. Same names, units and
 * dimensions as the CloudWatch exporter. Call `flush()` at the end of every invocation.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ service: 'payment', platform: 'aws', processMetrics: false });
 * const emf = createEmfLogger({ metrics });
 * export const handler = async (event) => {
 *   try { return await charge(event); } finally { emf.flush(); }
 * };
 * ```
 */
export function createEmfLogger(options: EmfLoggerOptions): EmfLogger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const namespace = options.namespace ?? METRICS_NAMESPACE;
  return {
    flush() {
      const snapshot = options.metrics.drain();
      const datums = toDatums(snapshot, {
        service: options.metrics.service,
        platform: options.metrics.platform,
        storageResolution: 60,
        histograms: 'values',
      });
      let lines = 0;
      for (const datum of datums) {
        for (const value of emfValues(datum)) {
          write(JSON.stringify(emfDocument(namespace, snapshot.timestamp, datum, value)));
          lines += 1;
        }
      }
      return lines;
    },
  };
}

/** A datum's value, or its histogram values expanded into arrays of at most 100. */
function emfValues(datum: MetricDatum): (number | number[])[] {
  if (datum.Value !== undefined) return [datum.Value];
  const expanded: number[] = [];
  (datum.Values ?? []).forEach((value, i) => {
    for (let n = 0; n < (datum.Counts?.[i] ?? 1); n++) expanded.push(value);
  });
  const chunks: number[][] = [];
  for (let i = 0; i < expanded.length; i += EMF_VALUES_PER_METRIC) {
    chunks.push(expanded.slice(i, i + EMF_VALUES_PER_METRIC));
  }
  return chunks;
}

function emfDocument(namespace: string, timestamp: Date, datum: MetricDatum, value: number | number[]) {
  const dimensions = datum.Dimensions ?? [];
  const name = datum.MetricName ?? '';
  return {
    _aws: {
      Timestamp: timestamp.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [dimensions.map((dimension) => dimension.Name ?? '')],
          Metrics: [{ Name: name, Unit: datum.Unit }],
        },
      ],
    },
    ...Object.fromEntries(dimensions.map((dimension) => [dimension.Name ?? '', dimension.Value ?? ''])),
    [name]: value,
  };
}
