import t from 'tap';
import { readSeries, sumSeries } from '../../src/metrics/prometheus-text.js';

// The one reader of a service's /metrics text: probes, the local fault driver and tests use it.

const TEXT = [
  '# HELP inventory_lane_depth Calls holding or waiting for a slot',
  '# TYPE inventory_lane_depth gauge',
  'inventory_lane_depth{lane="stock write"} 3',
  'inventory_lane_depth{lane="dynamodb"} 5',
  'http_requests_total{method="GET",route="/api/inventory",status="200"} 7',
  'http_requests_total{method="GET",route="/api/inventory",status="503"} 2',
  'outbox_pending 4',
  'http_request_duration_ms_bucket{le="5",method="GET",route="/",status="200"} 9',
].join('\n');

t.test('sums the series of one metric whose labels include every pair asked for', async (t) => {
  t.equal(sumSeries(TEXT, 'inventory_lane_depth', { lane: 'stock write' }), 3, 'one label value');
  t.equal(sumSeries(TEXT, 'inventory_lane_depth'), 8, 'every label set');
  t.equal(sumSeries(TEXT, 'http_requests_total', { status: '503' }), 2);
  t.equal(sumSeries(TEXT, 'outbox_pending'), 4, 'a series without labels');
});

t.test('another metric sharing a prefix, comments and absent metrics count nothing', async (t) => {
  t.equal(sumSeries(TEXT, 'http_request_duration_ms'), 0, 'a histogram bucket is another series');
  t.equal(sumSeries(TEXT, 'http_requests'), 0, 'a prefix is not the name');
  t.equal(sumSeries(TEXT, 'inventory_lane_depth', { lane: 'elsewhere' }), 0);
  t.equal(sumSeries('', 'outbox_pending'), 0);
});

t.test('reads every series of one metric with its labels, escaped values unescaped', async (t) => {
  const text = `${TEXT}\nweird_total{path="a\\"b",note="x\\\\y"} 1`;
  t.same(readSeries(TEXT, 'http_requests_total'), [
    { labels: { method: 'GET', route: '/api/inventory', status: '200' }, value: 7 },
    { labels: { method: 'GET', route: '/api/inventory', status: '503' }, value: 2 },
  ]);
  t.same(readSeries(TEXT, 'outbox_pending'), [{ labels: {}, value: 4 }]);
  t.same(readSeries(text, 'weird_total'), [{ labels: { path: 'a"b', note: 'x\\y' }, value: 1 }]);
  t.same(readSeries(TEXT, 'absent'), []);
});
