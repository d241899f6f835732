import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  CloudWatchClient,
  type Dimension,
  GetMetricDataCommand,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE } from '@cloudcafe/contracts';
import { localAwsEnv, SERVICES } from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { durationMs } from '../experiment/schema.js';
import { REPORTS_DIR } from '../journal.js';
import { table } from '../table.js';

/**
 * `cloudcafe metrics`: the services' own figures from CloudWatch (the emulator locally, where the
 * kit flushes PutMetricData every 10 s), one row per service and metric with a sparkline, or
 * the same as charts in a self-contained HTML page. Names and dimensions come from the kit's
 * catalogue: namespace `CloudCafe`, dimensions `Service` and `Platform`.
 */

export const NAMESPACE = METRICS_NAMESPACE;

/** What the review shows, in order; `ratio` rows are computed from two series. */
export const REVIEW = [
  { label: 'requests', metric: 'http_requests_total', stat: 'Sum' },
  { label: 'errors 5xx', metric: 'http_errors_total', stat: 'Sum', dims: { status_class: '5xx' } },
  { label: 'latency p50 ms', metric: 'http_request_duration_ms', stat: 'p50' },
  { label: 'latency p99 ms', metric: 'http_request_duration_ms', stat: 'p99' },
  { label: 'queue depth', metric: 'sqs_queue_depth', stat: 'Maximum' },
  { label: 'queue age s', metric: 'sqs_oldest_message_age_s', stat: 'Maximum' },
  { label: 'DLQ depth', metric: 'dlq_depth', stat: 'Maximum' },
  { label: 'cold starts', metric: 'lambda_cold_starts_total', stat: 'Sum' },
  { label: 'cache hits', metric: 'cache_hits_total', stat: 'Sum' },
  { label: 'cache misses', metric: 'cache_misses_total', stat: 'Sum' },
  { label: 'consumer lag ms', metric: 'consumer_lag_ms', stat: 'Maximum' },
  { label: 'outbox pending', metric: 'outbox_pending', stat: 'Maximum' },
  { label: 'cpu %', metric: 'process_cpu_percent', stat: 'Average' },
] as const;

export interface Series {
  readonly service: string;
  readonly label: string;
  readonly timestamps: readonly number[];
  readonly values: readonly number[];
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per point, scaled between the series' min and max. */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values
    .map((v) => BARS[max === min ? 0 : Math.round(((v - min) / (max - min)) * (BARS.length - 1))])
    .join('');
}

/** CloudWatch takes 1, 5, 10, 30 s or multiples of 60 s; about 40 points fill a terminal row. */
export function periodFor(spanMs: number): number {
  const wanted = spanMs / 1000 / 40;
  for (const p of [10, 30, 60]) if (wanted <= p) return p;
  return Math.ceil(wanted / 60) * 60;
}

export interface Window {
  readonly start: Date;
  readonly end: Date;
}

/** `--run <run-id>`: the span of the run's journal, padded by a minute each side. */
export function runWindow(runId: string): Window {
  const file = join(REPORTS_DIR, runId, 'journal.json');
  if (!existsSync(file)) throw new Error(`no journal at ${file}`);
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { events: { at: string }[] }).events;
  const first = events[0]?.at;
  const last = events.at(-1)?.at;
  if (!first || !last) throw new Error(`the journal of ${runId} has no events`);
  return { start: new Date(Date.parse(first) - 60_000), end: new Date(Date.parse(last) + 60_000) };
}

type Row = {
  readonly label: string;
  readonly metric: string;
  readonly stat: string;
  readonly dims?: Record<string, string>;
};

/** Percentiles swapped for average and maximum, for a CloudWatch that cannot compute them. */
const WITHOUT_PERCENTILES: readonly Row[] = [
  ...REVIEW.filter((r) => !/^p\d+$/.test(r.stat)),
  { label: 'latency avg ms', metric: 'http_request_duration_ms', stat: 'Average' },
  { label: 'latency max ms', metric: 'http_request_duration_ms', stat: 'Maximum' },
];

export async function readMetrics(
  client: CloudWatchClient,
  options: { services: readonly string[]; platform: string; window: Window },
): Promise<Series[]> {
  try {
    return await readRows(client, options, REVIEW);
  } catch (error) {
    // moto answers a percentile statistic with a 500; AWS computes them. Average and maximum
    // still show a latency fault, so the review degrades instead of failing.
    if (!/deserialization|internal|500/i.test((error as Error).message)) throw error;
    return readRows(client, options, WITHOUT_PERCENTILES);
  }
}

async function readRows(
  client: CloudWatchClient,
  options: { services: readonly string[]; platform: string; window: Window },
  rows: readonly Row[],
): Promise<Series[]> {
  const period = periodFor(options.window.end.getTime() - options.window.start.getTime());
  const queries: (MetricDataQuery & { Id: string })[] = [];
  const meta = new Map<string, { service: string; label: string }>();
  options.services.forEach((service, s) => {
    rows.forEach((row, r) => {
      const id = `m${s}_${r}`;
      const dims: Dimension[] = [
        { Name: 'Service', Value: service },
        { Name: 'Platform', Value: options.platform },
        ...Object.entries(row.dims ?? {}).map(([Name, Value]) => ({ Name, Value })),
      ];
      queries.push({
        Id: id,
        MetricStat: {
          Metric: { Namespace: NAMESPACE, MetricName: row.metric, Dimensions: dims },
          Period: period,
          Stat: row.stat,
        },
      });
      meta.set(id, { service, label: row.label });
    });
  });
  const series: Series[] = [];
  // GetMetricData takes at most 500 queries a call.
  for (let i = 0; i < queries.length; i += 500) {
    let token: string | undefined;
    do {
      const out = await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries.slice(i, i + 500),
          StartTime: options.window.start,
          EndTime: options.window.end,
          ScanBy: 'TimestampAscending',
          NextToken: token,
        }),
      );
      for (const r of out.MetricDataResults ?? []) {
        const m = meta.get(r.Id ?? '');
        // oldest first, whatever order the service answered in
        const points = (r.Timestamps ?? [])
          .map((t, i) => [new Date(t).getTime(), Number(r.Values?.[i])] as const)
          .filter(([, v]) => Number.isFinite(v))
          .sort((a, b) => a[0] - b[0]);
        if (!m || points.length === 0) continue;
        series.push({ ...m, timestamps: points.map(([t]) => t), values: points.map(([, v]) => v) });
      }
      token = out.NextToken;
    } while (token);
  }
  // Cache hit ratio: hits / (hits + misses) per point, where both were reported.
  for (const service of options.services) {
    const hits = series.find((x) => x.service === service && x.label === 'cache hits');
    const misses = series.find((x) => x.service === service && x.label === 'cache misses');
    if (!hits) continue;
    const missAt = new Map((misses?.timestamps ?? []).map((t, i) => [t, misses?.values[i] ?? 0]));
    const values = hits.values.map((h, i) => {
      const m = missAt.get(hits.timestamps[i] ?? 0) ?? 0;
      return h + m > 0 ? h / (h + m) : 0;
    });
    series.push({ service, label: 'cache hit ratio', timestamps: hits.timestamps, values });
  }
  return series;
}

const fmt = (v: number | undefined) =>
  v === undefined ? '—' : Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(2);

export function metricsTable(series: readonly Series[]): string {
  const rows = series.map((s) => [
    s.service,
    s.label,
    fmt(s.values.at(-1)),
    fmt(Math.min(...s.values)),
    fmt(Math.max(...s.values)),
    sparkline(s.values),
  ]);
  return table(['service', 'metric', 'last', 'min', 'max', 'trend'], rows);
}

const require = createRequire(import.meta.url);

/** The same series as charts, one per metric, a line per service; Chart.js inlined, no network. */
export function metricsHtml(series: readonly Series[], title: string): string {
  const chartJs = readFileSync(
    join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
    'utf8',
  ).replace(/<\/script/gi, '<\\/script');
  const labels = [...new Set(series.map((s) => s.label))];
  const charts = labels.map((label) => ({
    label,
    datasets: series
      .filter((s) => s.label === label)
      .map((s) => ({ label: s.service, data: s.timestamps.map((t, i) => ({ x: t, y: s.values[i] })) })),
  }));
  const data = JSON.stringify(charts).replace(/</g, '\\u003c');
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:1rem}figure{margin:0}</style>
<script>${chartJs}</script></head>
<body><h1>${esc(title)}</h1><div class="grid" id="charts"></div>
<script>
const charts = ${data};
for (const c of charts) {
  const fig = document.createElement('figure');
  const canvas = document.createElement('canvas');
  fig.appendChild(canvas);
  document.getElementById('charts').appendChild(fig);
  new Chart(canvas, {
    type: 'line',
    data: { datasets: c.datasets },
    options: {
      animation: false,
      parsing: true,
      plugins: { title: { display: true, text: c.label } },
      scales: { x: { type: 'linear', ticks: { callback: (v) => new Date(v).toISOString().slice(11, 19) } } },
    },
  });
}
</script></body></html>
`;
}

/** The lab's emulator locally (its port follows CLOUDCAFE_PORT_OFFSET); AWS otherwise. */
export function cloudWatchFor(platform: string): CloudWatchClient {
  if (platform !== 'local') return new CloudWatchClient({});
  const env = localAwsEnv();
  return new CloudWatchClient({
    region: env.AWS_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL_CLOUDWATCH ?? env.AWS_ENDPOINT_URL,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  });
}

export function registerMetricsCommand(program: Command): void {
  program
    .command('metrics')
    .description("the services' CloudWatch figures: a table with a sparkline per metric, or charts")
    .option('--service <service>', 'one service (default: every service)')
    .option('--since <duration>', 'how far back, e.g. 15m or 90s', '15m')
    .option('--run <run-id>', 'the span of a run (reports/<run-id>) instead of --since')
    .option('--platform <platform>', 'the Platform dimension: local | kubernetes | aws', 'local')
    .option('--out <file>', 'write the same as charts to an HTML file')
    .option('--json', 'print the series as JSON instead of the table')
    .action(
      async (opts: {
        service?: string;
        since: string;
        run?: string;
        platform: string;
        out?: string;
        json?: boolean;
      }) => {
        const services = opts.service ? [opts.service] : SERVICES.map((s) => s.name);
        const window: Window = opts.run
          ? runWindow(opts.run)
          : { start: new Date(Date.now() - durationMs(opts.since)), end: new Date() };
        const series = await readMetrics(cloudWatchFor(opts.platform), {
          services,
          platform: opts.platform,
          window,
        });
        const span = `${window.start.toISOString().slice(0, 19)}Z → ${window.end.toISOString().slice(0, 19)}Z`;
        if (series.length === 0) {
          process.stdout.write(
            opts.json
              ? '[]\n'
              : `no CloudCafe metrics for ${services.join(', ')} on ${opts.platform}, ${span}\n`,
          );
          process.exitCode = 1;
          return;
        }
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(series, null, 2)}\n`
            : `${NAMESPACE} metrics, Platform=${opts.platform}, ${span}\n${metricsTable(series)}\n`,
        );
        if (opts.out) {
          writeFileSync(opts.out, metricsHtml(series, `CloudCafe metrics ${span}`));
          // the JSON on stdout stays one document
          if (!opts.json) process.stdout.write(`charts: ${opts.out}\n`);
        }
      },
    );
}
