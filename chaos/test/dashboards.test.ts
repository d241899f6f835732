import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_CATALOGUE, type MetricDefinition } from '@cloudcafe/kit';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import t from 'tap';

// The dashboards in `dashboards/*.json` against the metric catalogue: a widget naming a metric
// that no service emits, or a dimension it is not sent with, draws an empty graph on game day
// and nobody notices until they need it. Pure file checks, no lab.

type MetricRow = (string | Record<string, unknown>)[];

interface Widget {
  type: string;
  properties: { title?: string; metrics?: MetricRow[] };
}

const dashboards = readdirSync(join(REPO_ROOT, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({
    file,
    widgets: (JSON.parse(readFileSync(join(REPO_ROOT, 'dashboards', file), 'utf8')) as { widgets: Widget[] })
      .widgets,
  }));

/** Each CloudCafe-namespace metric row: its name and its dimension names. Rows of `[".", ...]` are not used here. */
function cloudCafeRows(widgets: Widget[]) {
  return widgets.flatMap((w) =>
    (w.properties.metrics ?? [])
      .filter((row) => row[0] === 'CloudCafe')
      .map((row) => {
        const parts = row.filter((p): p is string => typeof p === 'string');
        const dimensions = parts.slice(2).filter((_, i) => i % 2 === 0);
        return { widget: w.properties.title ?? '(untitled)', name: parts[1] ?? '', dimensions };
      }),
  );
}

t.test(
  'every CloudCafe metric on a dashboard is in the catalogue, with dimensions it is sent with',
  async (t) => {
    const catalogue = METRIC_CATALOGUE as Record<string, MetricDefinition>;
    let rows = 0;
    for (const { file, widgets } of dashboards) {
      for (const row of cloudCafeRows(widgets)) {
        rows++;
        const entry = catalogue[row.name];
        t.ok(entry, `${file} · ${row.widget}: ${row.name} is in the catalogue`);
        if (!entry) continue;
        // Sent as Service+Platform, and again with its declared dimensions added (catalogue.ts).
        const allowed = new Set(['Service', 'Platform', ...(entry.dimensions ?? [])]);
        t.ok(
          row.dimensions.every((d) => allowed.has(d)) && row.dimensions.includes('Service'),
          `${file} · ${row.widget}: ${row.name} by ${row.dimensions.join(', ')}`,
        );
      }
    }
    t.ok(rows > 20, `the dashboards draw CloudCafe metrics (${rows} rows)`);
  },
);

t.test(
  'the inventory dashboard shows the stock lane a flash sale queues on, and what it sheds',
  async (t) => {
    const inventory = dashboards.find((d) => d.file === 'inventory.json');
    const names = cloudCafeRows(inventory?.widgets ?? []).map((r) => r.name);
    t.ok(names.includes('inventory_lane_depth'), 'lane depth');
    t.ok(names.includes('inventory_reservations_total'), 'reservations by outcome (shed = 429)');
  },
);
