import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  type CounterName,
  type GaugeName,
  type HistogramName,
  type LabelName,
  type LabelsOf,
  METRIC_CATALOGUE,
  type MetricDefinition,
  type MetricName,
} from './catalogue.js';

/** Where a service runs; the `Platform` dimension. */
export type Platform = 'local' | 'kubernetes' | 'aws';

type NoLabels<N extends MetricName> = [LabelName<N>] extends [never] ? true : false;
/** Arguments of `inc`: labels (omitted when the metric has none), then an optional amount. */
export type IncArgs<N extends MetricName> =
  NoLabels<N> extends true ? [amount?: number] : [labels: LabelsOf<N>, amount?: number];
/** Arguments of `set` and `observe`: labels (omitted when the metric has none), then the value. */
export type ValueArgs<N extends MetricName> =
  NoLabels<N> extends true ? [value: number] : [labels: LabelsOf<N>, value: number];

/** One labelled series as an exporter sees it at a drain. */
export interface SeriesSnapshot {
  name: MetricName;
  definition: MetricDefinition;
  labels: Readonly<Record<string, string>>;
  /** Counter: increase since the previous drain. Gauge: current value. */
  value?: number;
  /** Histogram: observed value → how many times, since the previous drain. */
  distribution?: ReadonlyMap<number, number>;
}

/** What {@link Metrics.drain} hands an exporter. */
export interface MetricsSnapshot {
  timestamp: Date;
  series: SeriesSnapshot[];
}

/**
 * The typed metrics registry of one process. Names and labels are checked against the
 * catalogue at compile time; a CloudWatch or EMF exporter reads it through {@link drain}.
 */
export interface Metrics {
  readonly service: string;
  readonly platform: Platform;
  /** Adds to a counter (default 1). */
  inc<N extends CounterName>(name: N, ...args: IncArgs<N>): void;
  /** Sets a gauge. */
  set<N extends GaugeName>(name: N, ...args: ValueArgs<N>): void;
  /** Records one observation of a histogram. */
  observe<N extends HistogramName>(name: N, ...args: ValueArgs<N>): void;
  /** The Prometheus exposition text and its content type. */
  prometheus(): Promise<{ contentType: string; body: string }>;
  /**
   * Everything recorded since the previous drain (gauges: their current value), then resets
   * counters' increases and histograms. One exporter per registry drains it.
   */
  drain(): MetricsSnapshot;
  /** Stops the process samplers. */
  close(): void;
}

/** Options for {@link createMetrics}. */
export interface CreateMetricsOptions {
  service: string;
  platform: Platform;
  /** Sample CPU, memory and event-loop delay into the process_* gauges (default true). */
  processMetrics?: boolean;
}

interface SeriesState {
  name: MetricName;
  definition: MetricDefinition;
  labels: Record<string, string>;
  value: number;
  touched: boolean;
  distribution: Map<number, number>;
}

type PromMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * Creates the metrics registry of a service. Every recording goes to Prometheus (prom-client,
 * labels `service` and `platform` added) and to the drain an exporter reads.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ service: 'inventory', platform: 'local' });
 * metrics.inc('cache_hits_total', { cache: 'stock' });
 * metrics.set('outbox_pending', 12);
 * metrics.observe('order_time_to_terminal_ms', { outcome: 'confirmed' }, 840);
 * // metrics.inc('made_up_total'); // does not compile
 * ```
 */
export function createMetrics(options: CreateMetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service, platform: options.platform });
  const prom = new Map<MetricName, PromMetric>();
  const series = new Map<string, SeriesState>();
  const sampler = options.processMetrics === false ? undefined : createProcessSampler();

  function promMetric(name: MetricName, definition: MetricDefinition): PromMetric {
    let metric = prom.get(name);
    if (metric) return metric;
    const config = {
      name,
      help: definition.description,
      labelNames: [...definition.labels],
      registers: [registry],
    };
    if (definition.type === 'counter') metric = new Counter(config);
    else if (definition.type === 'gauge') metric = new Gauge(config);
    else metric = new Histogram({ ...config, buckets: [...(definition.buckets ?? [])] });
    prom.set(name, metric);
    return metric;
  }

  function state(name: MetricName, type: MetricDefinition['type'], args: unknown[]) {
    const definition: MetricDefinition | undefined = METRIC_CATALOGUE[name];
    if (!definition || definition.type !== type)
      throw new TypeError(`${String(name)} is not a catalogue ${type}`);
    const [first, second] = args;
    const givenLabels = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
    const value = typeof first === 'object' && first !== null ? second : first;
    const labels = checkLabels(name, definition, givenLabels);
    const key = `${name}${JSON.stringify(labels)}`;
    let current = series.get(key);
    if (!current) {
      current = { name, definition, labels, value: 0, touched: false, distribution: new Map() };
      series.set(key, current);
    }
    return { current, metric: promMetric(name, definition), labels, value: value as number | undefined };
  }

  function sampleProcess(): void {
    if (!sampler) return;
    const sample = sampler.sample();
    metrics.set('process_cpu_percent', sample.cpuPercent);
    metrics.set('process_memory_rss_bytes', sample.rssBytes);
    metrics.set('event_loop_delay_p99_ms', sample.eventLoopDelayP99Ms);
  }

  const metrics: Metrics = {
    service: options.service,
    platform: options.platform,
    inc(name, ...args) {
      const { current, metric, labels, value } = state(name, 'counter', args);
      const amount = value ?? 1;
      if (!(amount >= 0)) throw new RangeError(`${name}: a counter only goes up (got ${amount})`);
      (metric as Counter<string>).inc(labels, amount);
      current.value += amount;
      current.touched = true;
    },
    set(name, ...args) {
      const { current, metric, labels, value } = state(name, 'gauge', args);
      if (!Number.isFinite(value)) throw new RangeError(`${name}: a gauge needs a finite value`);
      (metric as Gauge<string>).set(labels, value as number);
      current.value = value as number;
      current.touched = true;
    },
    observe(name, ...args) {
      const { current, metric, labels, value } = state(name, 'histogram', args);
      if (!Number.isFinite(value)) throw new RangeError(`${name}: an observation needs a finite value`);
      (metric as Histogram<string>).observe(labels, value as number);
      const bucketed = coarsen(value as number);
      current.distribution.set(bucketed, (current.distribution.get(bucketed) ?? 0) + 1);
      current.touched = true;
    },
    async prometheus() {
      sampleProcess();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    drain() {
      sampleProcess();
      const drained: SeriesSnapshot[] = [];
      for (const current of series.values()) {
        if (!current.touched) continue;
        const { name, definition, labels } = current;
        if (definition.type === 'histogram') {
          drained.push({ name, definition, labels, distribution: current.distribution });
          current.distribution = new Map();
          current.touched = false;
        } else if (definition.type === 'counter') {
          drained.push({ name, definition, labels, value: current.value });
          current.value = 0;
          current.touched = false;
        } else {
          // A gauge keeps being reported at its last value until set again.
          drained.push({ name, definition, labels, value: current.value });
        }
      }
      return { timestamp: new Date(), series: drained };
    },
    close() {
      sampler?.close();
    },
  };
  return metrics;
}

function checkLabels(
  name: MetricName,
  definition: MetricDefinition,
  given: Record<string, unknown>,
): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const label of definition.labels) {
    const value = given[label];
    if (value === undefined || value === null) throw new TypeError(`${name}: label ${label} is required`);
    labels[label] = String(value);
  }
  for (const label of Object.keys(given)) {
    if (!definition.labels.includes(label))
      throw new TypeError(`${name}: label ${label} is not in the catalogue`);
  }
  return labels;
}

/**
 * Rounds an observation so a flush carries few distinct values (CloudWatch takes 150 per
 * datum) while keeping two to three significant digits, which percentiles need.
 */
function coarsen(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value / 10) * 10;
  if (magnitude >= 100) return Math.round(value);
  return Math.round(value * 10) / 10;
}

function createProcessSampler() {
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  return {
    sample() {
      const now = process.hrtime.bigint();
      const cpu = process.cpuUsage(lastCpu);
      const elapsedMicros = Number(now - lastAt) / 1000;
      lastCpu = process.cpuUsage();
      lastAt = now;
      const cpuPercent = elapsedMicros > 0 ? ((cpu.user + cpu.system) / elapsedMicros) * 100 : 0;
      const p99 = loop.count > 0 ? loop.percentile(99) / 1e6 : 0;
      loop.reset();
      return {
        cpuPercent: Math.round(cpuPercent * 10) / 10,
        rssBytes: process.memoryUsage.rss(),
        eventLoopDelayP99Ms: Math.round(p99 * 10) / 10,
      };
    },
    close() {
      loop.disable();
    },
  };
}
