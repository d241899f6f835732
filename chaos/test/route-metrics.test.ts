import { createMetrics, type Metrics } from '@cloudcafe/kit';
import t from 'tap';
import { bucketQuantile, type RouteScrape, routeCounts, routeSeries } from '../src/route-metrics.js';

// The per-route charts read each service's own /metrics. The expositions here are rendered by
// the kit's real metrics registry (prom-client underneath), as a service's /metrics would be.

const ORDERS = { method: 'POST', route: '/api/orders', status: '202' } as const;

function registry(): Metrics {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  t.teardown(() => metrics.close());
  return metrics;
}

/** `n` requests on a route, each `ms` long. */
function serve(
  metrics: Metrics,
  labels: { method: string; route: string; status: string },
  n: number,
  ms: number,
) {
  for (let i = 0; i < n; i++) metrics.observe('http_request_duration_ms', labels, ms);
}

const scrape = async (metrics: Metrics, t: number): Promise<RouteScrape> => ({
  t,
  service: 'order',
  routes: routeCounts((await metrics.prometheus()).body),
});

t.test('a route’s rate, error rate and percentiles between two scrapes', async (t) => {
  // Prepare: 5 requests before the first scrape; then 90 fast, 10 slow and 5 failing in 2 s
  const metrics = registry();
  serve(metrics, ORDERS, 5, 3);
  const first = await scrape(metrics, 0);
  serve(metrics, ORDERS, 90, 7); // the 10 ms bucket
  serve(metrics, ORDERS, 10, 400); // the 500 ms bucket
  serve(metrics, { ...ORDERS, status: '503' }, 5, 20);
  serve(metrics, { method: 'GET', route: '/api/orders/metrics', status: '200' }, 50, 1);
  serve(metrics, { method: 'GET', route: '/api/orders/health', status: '200' }, 50, 1);
  serve(metrics, { method: 'GET', route: '/api/orders/health/ready', status: '200' }, 50, 1);
  const second = await scrape(metrics, 2000);

  // Act
  const [series, ...others] = routeSeries([first, second]);

  // Assess
  t.same(others, [], 'the scrapes of /metrics and the health checks are not routes of the load');
  t.equal(series?.route, 'POST /api/orders');
  t.equal(series?.total, 105, 'the requests of the interval, not those before the first scrape');
  const [point] = series?.points ?? [];
  t.equal(point?.t, 2000);
  t.equal(point?.rps, 52.5, '105 requests in 2 s');
  t.equal(point?.errorRate, 5 / 105);
  t.ok((point?.p95 ?? 0) > 250 && (point?.p95 ?? 0) <= 500, `p95 ${point?.p95} in the slow requests' bucket`);
  t.ok((point?.p99 ?? 0) > (point?.p95 ?? 0), 'p99 above p95');
});

t.test('a failed scrape is a gap, and a restarted service counts from zero', async (t) => {
  // Prepare
  const before = registry();
  serve(before, ORDERS, 10, 3);
  const a = await scrape(before, 0);
  serve(before, ORDERS, 20, 3);
  const b = await scrape(before, 2000);
  const down: RouteScrape = { t: 4000, service: 'order', failed: true };
  const restarted = registry();
  serve(restarted, ORDERS, 4, 3);
  const c = await scrape(restarted, 6000); // no baseline: right after the gap
  serve(restarted, ORDERS, 6, 3);
  const d = await scrape(restarted, 8000);

  // Act
  const [series] = routeSeries([d, a, down, b, c]); // in any order

  // Assess
  t.same(
    series?.points.map((p) => [p.t, p.rps]),
    [
      [2000, 10],
      [4000, null],
      [8000, 3],
    ],
  );
});

t.test('the busiest routes of the run, busiest first', async (t) => {
  const metrics = registry();
  const first = await scrape(metrics, 0);
  for (const [i, route] of ['/a', '/b', '/c', '/d'].entries())
    serve(metrics, { method: 'GET', route, status: '200' }, (i + 1) * 10, 3);
  const second = await scrape(metrics, 1000);

  t.same(
    routeSeries([first, second], 2).map((s) => [s.route, s.total]),
    [
      ['GET /d', 40],
      ['GET /c', 30],
    ],
  );
});

t.test('a quantile is interpolated within its bucket, and capped at the top finite bound', async (t) => {
  const inf = Number.POSITIVE_INFINITY;
  // 100 observations: 50 in (0, 10], 50 in (10, 20]
  const buckets = [
    [10, 50],
    [20, 100],
    [inf, 100],
  ] as const;
  t.equal(bucketQuantile([], buckets, 0.5), 10);
  t.equal(bucketQuantile([], buckets, 0.75), 15);
  t.equal(bucketQuantile([], [...buckets.slice(0, 2), [inf, 200]], 0.99), 20, 'past the last bound');
  t.equal(bucketQuantile(buckets, buckets, 0.95), undefined, 'nothing observed between the two');
});
