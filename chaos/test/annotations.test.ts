import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { annotationsFor, verticalBands, withFaultBands } from '../src/annotations.js';
import { DASHBOARDS_DIR, dashboardValues, fillPlaceholders } from '../src/commands/dashboards.js';
import type { Window } from '../src/report-html.js';

// A run's fault windows as Grafana-style annotations and as CloudWatch dashboard bands. Pure
// transformations; pushing them to the lab's CloudWatch is dashboards-push.integration.test.ts.

const origin = Date.parse('2026-11-21T10:00:00.000Z');
const windows: Window[] = [
  {
    label: 'network-latency: slow inventory link',
    experiment: 'network-latency',
    fault: 'slow inventory link',
    type: 'latency',
    target: 'order-to-inventory',
    from: 12_000,
    to: 32_500,
    verified: true,
  },
  {
    label: 'cache-outage: redis down',
    experiment: 'cache-outage',
    fault: 'redis down',
    from: 90_000,
    to: 110_000,
    verified: false,
  },
];

t.test('annotations.json: epoch-ms regions with text and tags, one per fault window', async (t) => {
  t.same(annotationsFor(windows, origin, 'run-1'), [
    {
      time: origin + 12_000,
      timeEnd: origin + 32_500,
      text: 'network-latency: slow inventory link (latency on order-to-inventory)',
      tags: [
        'cloudcafe',
        'fault',
        'run:run-1',
        'experiment:network-latency',
        'fault:latency',
        'target:order-to-inventory',
        'verified',
      ],
    },
    {
      time: origin + 90_000,
      timeEnd: origin + 110_000,
      text: 'cache-outage: redis down — effect not verified',
      tags: ['cloudcafe', 'fault', 'run:run-1', 'experiment:cache-outage', 'unverified'],
    },
  ]);
});

t.test('a CloudWatch band is two linked edges in ISO 8601, the first labelled', async (t) => {
  const [band] = verticalBands(annotationsFor(windows, origin, 'run-1'));
  t.same(band, [
    {
      label: 'network-latency: slow inventory link (latency on order-to-inventory)',
      value: '2026-11-21T10:00:12.000Z',
      color: '#ff9900',
    },
    { value: '2026-11-21T10:00:32.500Z' },
  ]);
});

t.test('every time-series graph of every dashboard gets the bands; nothing else changes', async (t) => {
  const annotations = annotationsFor(windows, origin, 'run-1');
  const values = dashboardValues('local', 'us-east-1', '123456789012');
  let graphs = 0;
  for (const file of readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'))) {
    const before = fillPlaceholders(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'), values, file);
    const after = JSON.parse(withFaultBands(before, annotations));
    const original = JSON.parse(before);
    t.equal(after.start, '2026-11-21T09:55:12.000Z', `${file}: opens 5 min before the first fault`);
    t.equal(after.end, '2026-11-21T10:06:50.000Z', `${file}: …until 5 min after the last`);
    after.widgets.forEach((w: { type: string; properties: Record<string, unknown> }, i: number) => {
      const o = original.widgets[i];
      const timeSeries = w.type === 'metric' && (o.properties.view ?? 'timeSeries') === 'timeSeries';
      const { annotations: drawn, ...rest } = w.properties;
      const { annotations: had, ...originalRest } = o.properties;
      t.same(rest, originalRest, `${file} #${i}: the widget is otherwise untouched`);
      if (timeSeries) {
        graphs++;
        t.equal((drawn as { vertical: unknown[] }).vertical.length, 2, `${file} #${i}: two bands`);
      } else t.same(drawn, had, `${file} #${i}: not a time-series graph, no bands`);
    });
  }
  t.ok(graphs > 20, `${graphs} graphs carry the bands`);
});

t.test('annotations a widget already has are kept; no fault windows leave the body as it is', async (t) => {
  const body = JSON.stringify({
    widgets: [
      {
        type: 'metric',
        properties: { metrics: [], annotations: { horizontal: [{ value: 1 }], vertical: [{ value: 'x' }] } },
      },
    ],
  });
  const out = JSON.parse(withFaultBands(body, annotationsFor(windows.slice(0, 1), origin, 'r')));
  t.same(out.widgets[0].properties.annotations.horizontal, [{ value: 1 }]);
  t.equal(out.widgets[0].properties.annotations.vertical.length, 2, 'the old one and the band');
  t.equal(withFaultBands(body, []), body);
});
