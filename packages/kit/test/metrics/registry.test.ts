import t from 'tap';
import { createMetrics } from '../../src/metrics/registry.js';

t.test('recordings show up in the Prometheus text with service and platform', async (t) => {
  const metrics = createMetrics({ service: 'inventory', platform: 'local', processMetrics: false });

  metrics.inc('cache_hits_total', { cache: 'stock' });
  metrics.inc('cache_hits_total', { cache: 'stock' }, 2);
  metrics.set('outbox_pending', 12);
  metrics.observe('order_time_to_terminal_ms', { outcome: 'confirmed' }, 840);
  const { body, contentType } = await metrics.prometheus();

  t.match(contentType, 'text/plain');
  t.match(body, 'cache_hits_total{cache="stock",service="inventory",platform="local"} 3');
  t.match(body, 'outbox_pending{service="inventory",platform="local"} 12');
  t.match(
    body,
    'order_time_to_terminal_ms_count{service="inventory",platform="local",outcome="confirmed"} 1',
  );
  t.match(
    body,
    'order_time_to_terminal_ms_bucket{le="500",service="inventory",platform="local",outcome="confirmed"} 0',
  );
  t.match(
    body,
    'order_time_to_terminal_ms_bucket{le="1000",service="inventory",platform="local",outcome="confirmed"} 1',
  );
});

t.test('names and labels outside the catalogue are refused', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });

  // @ts-expect-error not a catalogue counter: the compiler refuses it too
  t.throws(() => metrics.inc('made_up_total'), /not a catalogue counter/);
  // @ts-expect-error a gauge is not a counter
  t.throws(() => metrics.inc('outbox_pending'), /not a catalogue counter/);
  t.throws(
    // @ts-expect-error the label is not in the catalogue
    () => metrics.inc('cache_hits_total', { cache: 'x', colour: 'red' }),
    /label colour is not in the catalogue/,
  );
  // @ts-expect-error a required label is missing
  t.throws(() => metrics.inc('cache_hits_total', {}), /label cache is required/);
  t.throws(() => metrics.inc('orders_accepted_total', -1), /only goes up/);
  t.throws(() => metrics.set('outbox_pending', Number.NaN), /finite/);
});

t.test(
  'drain hands counters as increases, gauges as current values, histograms as distributions',
  async (t) => {
    const metrics = createMetrics({ service: 'order', platform: 'aws', processMetrics: false });
    metrics.inc('orders_accepted_total', 3);
    metrics.set('outbox_pending', 7);
    metrics.observe('http_request_duration_ms', { method: 'GET', route: '/x', status: 200 }, 12.34);
    metrics.observe('http_request_duration_ms', { method: 'GET', route: '/x', status: 200 }, 12.31);

    const first = metrics.drain();
    const byName = Object.fromEntries(first.series.map((series) => [series.name, series]));
    t.equal(byName.orders_accepted_total?.value, 3);
    t.equal(byName.outbox_pending?.value, 7);
    t.same([...(byName.http_request_duration_ms?.distribution ?? [])], [[12.3, 2]]);

    metrics.inc('orders_accepted_total');
    const second = metrics.drain();
    const again = Object.fromEntries(second.series.map((series) => [series.name, series]));
    t.equal(again.orders_accepted_total?.value, 1, 'only the increase since the last drain');
    t.equal(again.outbox_pending?.value, 7, 'a gauge keeps its value');
    t.notOk(again.http_request_duration_ms, 'nothing observed since');
  },
);

t.test('process metrics are sampled when read', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local' });
  t.teardown(() => metrics.close());
  // spend 50 ms of CPU, not of wall time: on a loaded machine 50 ms of wall time can be
  // almost no CPU at all
  const cpuAtStart = process.cpuUsage();
  const spent = () => {
    const used = process.cpuUsage(cpuAtStart);
    return (used.user + used.system) / 1000;
  };
  while (spent() < 50) Math.sqrt(Math.random());

  const { body } = await metrics.prometheus();

  const cpu = Number(/process_cpu_percent\{service="order",platform="local"\} ([0-9.]+)/.exec(body)?.[1]);
  t.ok(cpu > 0, `the CPU just spent shows (${cpu} %)`);
  t.match(body, /process_memory_rss_bytes\{service="order",platform="local"\} [1-9]\d+/);
  t.match(body, 'event_loop_delay_p99_ms');
});
