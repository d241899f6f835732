import { readSeries } from '@cloudcafe/kit';

/**
 * The services' own view of the load, by route: each service's `/metrics` (the kit's
 * `http_requests_total` and `http_request_duration_ms` histogram) scraped every couple of
 * seconds while a run goes, turned into request rate, error rate and latency percentiles per
 * route between two scrapes. It is the server side of what k6 or the monitor sees from outside:
 * a route that slows down behind a fault shows here even when the load generator's requests
 * mix many routes, and a service that stops answering its own `/metrics` leaves a gap.
 */

/**
 * How often each service's `/metrics` is read while a run goes: six small GETs every two
 * seconds, and a per-route rate that moves within two seconds of the load.
 */
export const ROUTE_SCRAPE_MS = 2000;

/** What one route had counted when a scrape read it (cumulative since the process started). */
export interface RouteCounts {
  readonly count: number;
  /** Answers with a 5xx status. */
  readonly errors: number;
  /** The histogram's cumulative buckets as `[upper bound in ms, count]`, +Inf last. */
  readonly buckets: readonly (readonly [number, number])[];
}

/** One scrape of one service: its routes, or `failed` when `/metrics` did not answer. */
export interface RouteScrape {
  /** Milliseconds since the run's origin. */
  readonly t: number;
  readonly service: string;
  readonly routes?: Readonly<Record<string, RouteCounts>>;
  readonly failed?: true;
}

export interface RoutePoint {
  /** Milliseconds since the run's origin: the end of the interval. */
  readonly t: number;
  /** Requests per second over the interval; null where the service could not be read. */
  readonly rps: number | null;
  readonly p95?: number;
  readonly p99?: number;
  readonly errorRate?: number;
}

export interface RouteSeries {
  readonly service: string;
  /** `METHOD /route/pattern`, as the service labels it. */
  readonly route: string;
  /** Requests over the whole run. */
  readonly total: number;
  readonly points: readonly RoutePoint[];
}

/**
 * The scraper's own requests and health checks (the synthetic monitor's, the lab's and the
 * platform's probes): not the load anyone is measuring, and at a trickle of checkout they
 * would push its routes off the chart.
 */
const isProbeTraffic = (route: string) => / \S*\/(metrics|health(\/live|\/ready)?)$/.test(route);

/** A service's `/metrics` text → cumulative counts per `METHOD /route`. */
export function routeCounts(text: string): Record<string, RouteCounts> {
  const keyOf = (l: Readonly<Record<string, string>>) => `${l.method} ${l.route}`;
  const counts = new Map<string, { count: number; errors: number; buckets: Map<number, number> }>();
  const entry = (key: string) => {
    let e = counts.get(key);
    if (!e) {
      e = { count: 0, errors: 0, buckets: new Map() };
      counts.set(key, e);
    }
    return e;
  };
  for (const s of readSeries(text, 'http_request_duration_ms_count')) {
    const e = entry(keyOf(s.labels));
    e.count += s.value;
    if (Number(s.labels.status) >= 500) e.errors += s.value;
  }
  for (const s of readSeries(text, 'http_request_duration_ms_bucket')) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    const buckets = entry(keyOf(s.labels)).buckets;
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return Object.fromEntries(
    [...counts]
      .filter(([key]) => !isProbeTraffic(key))
      .map(([key, e]) => [
        key,
        { count: e.count, errors: e.errors, buckets: [...e.buckets].sort(([a], [b]) => a - b) },
      ]),
  );
}

/**
 * The q-quantile of the observations between two cumulative bucket sets, interpolated within
 * the bucket it falls in (as PromQL's histogram_quantile does); the top finite bound when it
 * falls past it. Undefined when nothing was observed.
 */
export function bucketQuantile(
  before: readonly (readonly [number, number])[],
  after: readonly (readonly [number, number])[],
  q: number,
): number | undefined {
  const was = new Map(before);
  const delta = after.map(([le, n]) => [le, Math.max(0, n - (was.get(le) ?? 0))] as const);
  const total = delta.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of delta) {
    if (n >= rank) {
      if (!Number.isFinite(le)) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(1, n - below);
    }
    lower = le;
    below = n;
  }
  return lower;
}

/** One route's point between two scrapes; a restarted process (counts went down) starts from zero. */
function pointBetween(
  t: number,
  seconds: number,
  before: RouteCounts | undefined,
  after: RouteCounts,
): RoutePoint {
  const base = before && before.count <= after.count ? before : undefined;
  const requests = after.count - (base?.count ?? 0);
  const errors = after.errors - (base?.errors ?? 0);
  const p95 = bucketQuantile(base?.buckets ?? [], after.buckets, 0.95);
  const p99 = bucketQuantile(base?.buckets ?? [], after.buckets, 0.99);
  return {
    t,
    rps: requests / seconds,
    ...(p95 === undefined ? {} : { p95 }),
    ...(p99 === undefined ? {} : { p99 }),
    ...(requests > 0 ? { errorRate: errors / requests } : {}),
  };
}

/**
 * Per-route series from the scrapes: a point per interval between two successful scrapes of a
 * service, a null point where a scrape failed (the service could not say), and only the `top`
 * routes by requests over the run, busiest first.
 */
export function routeSeries(scrapes: readonly RouteScrape[], top = 6): RouteSeries[] {
  const byService = new Map<string, RouteScrape[]>();
  for (const s of scrapes) {
    const list = byService.get(s.service);
    if (list) list.push(s);
    else byService.set(s.service, [s]);
  }
  const series = new Map<string, { service: string; route: string; total: number; points: RoutePoint[] }>();
  const seriesOf = (service: string, route: string) => {
    const key = `${service} ${route}`;
    let s = series.get(key);
    if (!s) {
      s = { service, route, total: 0, points: [] };
      series.set(key, s);
    }
    return s;
  };
  for (const [service, list] of byService) {
    const ordered = list.sort((a, b) => a.t - b.t);
    for (let i = 1; i < ordered.length; i++) {
      const [before, after] = [ordered[i - 1] as RouteScrape, ordered[i] as RouteScrape];
      if (!after.routes) {
        for (const s of series.values()) if (s.service === service) s.points.push({ t: after.t, rps: null });
        continue;
      }
      if (!before.routes) continue; // no baseline after a gap: the next interval has one
      const seconds = Math.max(0.001, (after.t - before.t) / 1000);
      for (const [route, counts] of Object.entries(after.routes)) {
        const point = pointBetween(after.t, seconds, before.routes[route], counts);
        const s = seriesOf(service, route);
        s.total += (point.rps ?? 0) * seconds;
        s.points.push(point);
      }
    }
  }
  return [...series.values()]
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total)
    .slice(0, top)
    .map((s) => ({ ...s, total: Math.round(s.total) }));
}
