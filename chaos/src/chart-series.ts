import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { JournalEvent } from './journal.js';

/**
 * What the report charts, second by second, built from every request the run saw: k6's own
 * record of each request of the background load (its `--out json` file) wherever load ran, the
 * synthetic monitor's requests elsewhere. Pure functions, so the arithmetic is tested without
 * a lab; telemetry.ts gathers the inputs while the run goes.
 */

/** One request as a client saw it end. */
export interface Observation {
  /** When it ended (epoch ms). */
  readonly at: number;
  /**
   * How long the client waited, answered or timed out; undefined for a refused connection,
   * whose ~0 ms says nothing about latency (it still counts as an error).
   */
  readonly ms: number | undefined;
  readonly failed: boolean;
}

/** Where a second's figures come from. */
export type SeriesSource = 'k6' | 'monitor';

export interface Sample {
  /** Milliseconds since the run started, at the end of the second the sample covers. */
  readonly t: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  /** How many request latencies the percentiles stand on… */
  readonly n?: number;
  /** …gathered over this many trailing seconds (the error rate too; see {@link MIN_PERCENTILE_SAMPLES}). */
  readonly windowS?: number;
  /** Requests that ended in this second. */
  readonly rps?: number;
  /**
   * k6 iterations (one checkout journey, one sale attempt…) that started in this second: the
   * arrival rate the load was asked for. A journey can take many seconds (checkout follows its
   * order to a terminal state), so counting ends would lag the load by that much.
   */
  readonly iterations?: number;
  /** Arrivals k6 could not start in this second: every VU it may use was busy. */
  readonly dropped?: number;
  /** Share of the window's requests that failed (5xx, refused, timed out; k6: not an expected status). */
  readonly errorRate?: number;
  readonly source?: SeriesSource;
  readonly queueDepth?: number;
  readonly dlqDepth?: number;
}

/**
 * A p99 over fewer than 100 requests is just the slowest one, so each second's percentiles are
 * taken over the shortest trailing window (whole seconds, up to {@link MAX_WINDOW_S}) that
 * holds at least this many requests. Under heavy load that is the second itself; under a
 * trickle it widens, and the sample says by how much.
 */
export const MIN_PERCENTILE_SAMPLES = 100;
export const MAX_WINDOW_S = 10;

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 10) / 10);

interface Bucket {
  readonly latencies: number[];
  requests: number;
  failed: number;
}

/**
 * One sample per second from `origin` for `seconds` seconds: requests that ended and iterations
 * that started in the second, and percentiles and error rate over the trailing window. A second with no
 * request in its widest window has only `rps: 0`.
 */
export function perSecond(
  observations: readonly Observation[],
  origin: number,
  seconds: number,
  source: SeriesSource,
  k6: { readonly iterations: readonly number[]; readonly dropped: readonly number[] } | undefined = undefined,
): Sample[] {
  const buckets: Bucket[] = Array.from({ length: seconds }, () => ({
    latencies: [],
    requests: 0,
    failed: 0,
  }));
  const index = (at: number) => Math.floor((at - origin) / 1000);
  for (const o of observations) {
    const bucket = buckets[index(o.at)];
    if (!bucket) continue;
    bucket.requests++;
    if (o.failed) bucket.failed++;
    if (o.ms !== undefined) bucket.latencies.push(o.ms);
  }
  const perSecondCount = (times: readonly number[]) => {
    const counts = new Array<number>(seconds).fill(0);
    for (const at of times) {
      const i = index(at);
      if (i >= 0 && i < seconds) counts[i] = (counts[i] ?? 0) + 1;
    }
    return counts;
  };
  const started = perSecondCount(k6?.iterations ?? []);
  const dropped = perSecondCount(k6?.dropped ?? []);
  return buckets.map((bucket, s) => {
    const latencies: number[] = [];
    let requests = 0;
    let failed = 0;
    let windowS = 0;
    for (let w = 1; w <= MAX_WINDOW_S && s - w + 1 >= 0; w++) {
      const b = buckets[s - w + 1] as Bucket;
      latencies.push(...b.latencies);
      requests += b.requests;
      failed += b.failed;
      windowS = w;
      if (latencies.length >= MIN_PERCENTILE_SAMPLES) break;
    }
    const base = {
      t: (s + 1) * 1000,
      rps: bucket.requests,
      ...(k6 ? { iterations: started[s], dropped: dropped[s] } : {}),
    };
    if (requests === 0) return base;
    latencies.sort((a, b) => a - b);
    return {
      ...base,
      source,
      windowS,
      errorRate: Math.round((failed / requests) * 1000) / 1000,
      ...(latencies.length > 0
        ? {
            n: latencies.length,
            p50: round(percentile(latencies, 50)),
            p95: round(percentile(latencies, 95)),
            p99: round(percentile(latencies, 99)),
          }
        : {}),
    };
  });
}

/** The background loads, from `load.started` to `load.finished` (or the experiment's end). */
export interface LoadSpan {
  readonly experiment: string;
  readonly scenario: string;
  readonly rate?: number;
  readonly from: number;
  readonly to: number;
}

export function loadSpans(events: readonly JournalEvent[], origin: number): LoadSpan[] {
  const spans: LoadSpan[] = [];
  const open = new Map<string, Omit<LoadSpan, 'to'>>();
  for (const e of events) {
    const t = Date.parse(e.at) - origin;
    const experiment = String(e.experiment);
    if (e.type === 'load.started')
      open.set(experiment, {
        experiment,
        scenario: String(e.scenario),
        ...(typeof e.rate === 'number' ? { rate: e.rate } : {}),
        from: t,
      });
    const started = open.get(experiment);
    if (started && (e.type === 'load.finished' || e.type === 'experiment.finished')) {
      spans.push({ ...started, to: t });
      open.delete(experiment);
    }
  }
  return spans;
}

/**
 * The run's series: k6's figures in every second a background load ran (`loads`, in ms since
 * the run started), the monitor's elsewhere (it rests while load runs, so the two take turns),
 * and the queue depths read each second.
 */
export function mergeSeries(
  k6: readonly Sample[],
  monitor: readonly Sample[],
  queues: readonly { readonly t: number; readonly queueDepth?: number; readonly dlqDepth?: number }[],
  loads: readonly Pick<LoadSpan, 'from' | 'to'>[],
): Sample[] {
  // a queue reading taken during second s goes with that second's sample
  const depths = new Map(queues.map((q) => [(Math.floor(q.t / 1000) + 1) * 1000, q]));
  const seconds = Math.max(k6.length, monitor.length);
  const out: Sample[] = [];
  for (let s = 0; s < seconds; s++) {
    const t = (s + 1) * 1000;
    // a second belongs to the load when most of it lies inside a load span
    const loaded = loads.some((l) => l.from <= t - 500 && t - 500 < l.to);
    const chosen = loaded ? k6[s] : monitor[s];
    const q = depths.get(t);
    out.push({
      ...(chosen ?? { t }),
      ...(q?.queueDepth !== undefined ? { queueDepth: q.queueDepth } : {}),
      ...(q?.dlqDepth !== undefined ? { dlqDepth: q.dlqDepth } : {}),
    });
  }
  return out;
}

/** The requests and iterations in a k6 `--out json=<file>` file (gzipped when it ends in .gz). */
export interface K6Record {
  readonly requests: Observation[];
  /** When each iteration started (epoch ms). */
  readonly iterations: number[];
  /** When k6 dropped an arrival (epoch ms). */
  readonly dropped: number[];
}

/**
 * A long poll (`GET /api/orders/:id?waitSeconds=N`, how checkout follows its order) waits on
 * purpose until the order changes: its duration is the payment pipeline's delay, not the
 * latency of a request, and counted as latency it would put a 20 s "p99" on a healthy
 * gateway. It still counts in throughput and errors. The scripts tag it `long_poll: "true"`
 * (load-tests/src/lib/api.ts), because k6 replaces the `url` tag with the request's `name`
 * when one is given; an untagged request is judged by its URL.
 */
export const LONG_POLL_TAG = 'long_poll';

export function isLongPoll(tags: Readonly<Record<string, string>>): boolean {
  if (tags[LONG_POLL_TAG] !== undefined) return tags[LONG_POLL_TAG] === 'true';
  const wait = /[?&]waitSeconds=(\d+)/.exec(tags.url ?? '');
  return wait !== null && Number(wait[1]) > 0;
}

interface K6Point {
  readonly type?: string;
  readonly metric?: string;
  readonly data?: { time?: string; value?: number; tags?: Record<string, string> };
}

/**
 * Reads k6's per-request points: `http_req_duration` (its `expected_response` tag says whether
 * the script counts the status as a success, the same test as `http_req_failed`) and
 * `iteration_duration` (stamped at the iteration's end; minus its value, its start) and
 * `dropped_iterations` (arrivals an arrival-rate executor had no free VU for).
 * setup() and teardown() requests (group `::setup`, `::teardown`) are the
 * script checking the lab, not the load, and are left out. A missing file is an empty record.
 */
export async function readK6Record(file: string): Promise<K6Record> {
  const requests: Observation[] = [];
  const iterations: number[] = [];
  const dropped: number[] = [];
  const raw = createReadStream(file);
  const opened = await new Promise<boolean>((resolve) => {
    raw.once('open', () => resolve(true));
    raw.once('error', () => resolve(false));
  });
  if (!opened) return { requests, iterations, dropped };
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      // most lines are metrics the chart does not use; skip them before parsing
      if (!line.includes('"Point"')) continue;
      if (!/"(http_req_duration|iteration_duration|dropped_iterations)"/.test(line)) continue;
      let point: K6Point;
      try {
        point = JSON.parse(line) as K6Point;
      } catch {
        continue; // a line cut short by a k6 that was killed
      }
      const at = Date.parse(point.data?.time ?? '');
      const tags = point.data?.tags ?? {};
      if (point.type !== 'Point' || Number.isNaN(at) || tags.group?.startsWith('::')) continue;
      const value = point.data?.value ?? 0;
      if (point.metric === 'iteration_duration') iterations.push(at - value);
      if (point.metric === 'dropped_iterations') for (let i = 0; i < value; i++) dropped.push(at);
      if (point.metric === 'http_req_duration') {
        const refused = tags.status === '0' && value === 0;
        requests.push({
          at,
          ms: refused || isLongPoll(tags) ? undefined : value,
          failed: tags.expected_response === 'false',
        });
      }
    }
  } catch {
    // a truncated gzip stream (k6 killed mid-write): keep what was read
  }
  return { requests, iterations, dropped };
}
