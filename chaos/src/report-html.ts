import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LoadSpan, Sample } from './chart-series.js';
import { type Fault, faultTarget } from './experiment/schema.js';
import { FaultKeys, type JournalEvent } from './journal.js';
import type { RunSummary } from './report.js';
import { driftHtml, marginsHtml } from './report-sections.js';
import { ROUTE_SCRAPE_MS, type RouteSeries } from './route-metrics.js';

/**
 * The game-day report as one self-contained HTML file: Chart.js and its annotation plugin are
 * inlined (no network when it is opened), the data is embedded as JSON, and the page draws
 * latency percentiles, throughput and errors (chart-series.ts), request rate and p95 by route
 * as the services themselves count them (route-metrics.ts), queue depth and DLQ over time
 * with every fault window shaded and tagged, recovery time per experiment, a numbered legend of
 * the fault windows and the loads, the tables, and the verdict.
 */

const require = createRequire(import.meta.url);
/** A browser build that ships beside a package's main file (their `exports` do not list it). */
const script = (pkg: string, file: string) =>
  // a library that contains "</script" would end the tag early
  readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8').replace(/<\/script/gi, '<\\/script');

export interface Window {
  readonly label: string;
  readonly experiment: string;
  readonly fault: string;
  /** The fault's type and what it hit (`latency` on `order-to-inventory`), when the journal says. */
  readonly type?: string;
  readonly target?: string;
  /** Milliseconds since the run's origin. */
  readonly from: number;
  readonly to: number;
  readonly verified: boolean;
}

/** Fault windows in milliseconds since `origin`, from the journal's injecting/reverted events. */
export function faultWindows(events: readonly JournalEvent[], origin: number): Window[] {
  const open = new Map<string, { from: number; verified: boolean; spec?: Fault }>();
  const windows: Window[] = [];
  const keys = new FaultKeys();
  for (const e of events) {
    const key = keys.keyOf(e);
    const t = Date.parse(e.at) - origin;
    if (e.type === 'fault.injecting')
      open.set(key, { from: t, verified: false, ...(e.spec ? { spec: e.spec as Fault } : {}) });
    if (e.type === 'fault.injected') {
      const w = open.get(key);
      if (w) w.verified = (e.effect as { verified?: boolean } | undefined)?.verified === true;
    }
    if (e.type === 'fault.reverted' || e.type === 'fault.revert-failed') {
      const w = open.get(key);
      if (w)
        windows.push({
          label: `${e.experiment}: ${String(e.fault)}`,
          experiment: String(e.experiment),
          fault: String(e.fault),
          ...(w.spec ? { type: w.spec.type, target: faultTarget(w.spec) } : {}),
          from: w.from,
          to: t,
          verified: w.verified,
        });
      open.delete(key);
    }
  }
  return windows;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** One line per fault window, numbered as its tag on the charts. */
function faultLegend(windows: readonly Window[]): string {
  if (windows.length === 0) return '<p id="fault-legend">no fault was injected</p>';
  const items = windows.map(
    (w, i) =>
      `<li class="${w.verified ? 'verified' : 'unverified'}"><span class="swatch">${i + 1}</span> <b>${esc(
        w.experiment,
      )}</b>: ${esc(w.fault)}${w.type ? ` — ${esc(w.type)} on ${esc(w.target ?? '?')}` : ''}, ${seconds(
        w.from,
      )}–${seconds(w.to)} s (${seconds(w.to - w.from)} s)${w.verified ? '' : ', <b>effect not verified</b>'}</li>`,
  );
  return `<ol id="fault-legend">${items.join('')}</ol>`;
}

function loadLegend(loads: readonly LoadSpan[]): string {
  if (loads.length === 0)
    return '<p id="load-legend">no background load: every chart line is the synthetic monitor</p>';
  const items = loads.map(
    (l) =>
      `<li>k6 <b>${esc(l.scenario)}</b>${l.rate ? ` at ${l.rate} iterations/s` : ''} during ${esc(
        l.experiment,
      )}, ${seconds(l.from)}–${seconds(l.to)} s</li>`,
  );
  return `<ul id="load-legend">${items.join('')}</ul>`;
}

export function reportHtml(
  summary: RunSummary,
  samples: readonly Sample[],
  windows: readonly Window[],
  loads: readonly LoadSpan[] = [],
  routes: readonly RouteSeries[] = [],
): string {
  const ran = summary.results.length + (summary.margins?.length ?? 0);
  const ok = ran > 0 && summary.results.every((r) => r.verdict === 'passed');
  const data = JSON.stringify({ samples, windows, loads, routes, results: summary.results }).replace(
    /</g,
    '\\u003c',
  );
  const rows = summary.results
    .map(
      (r) =>
        `<tr class="${r.verdict}"><td>${esc(r.id)}</td><td>${esc(r.title)}</td><td>${r.verdict}</td><td>${r.faults
          .map((f) => `${f.effect?.verified ? '✓' : '✗'} ${esc(f.name)}: ${esc(f.effect?.detail ?? '')}`)
          .join('<br>')}</td><td>${r.abort ? `${r.abort.reactionMs} ms` : '—'}</td><td>${
          r.recoveryMs === undefined ? 'not recovered' : `${(r.recoveryMs / 1000).toFixed(1)} s`
        }</td><td>${esc(r.reasons.join('; '))}</td></tr>`,
    )
    .join('\n');
  const invariantRows = summary.results
    .flatMap((r) =>
      r.invariants.map(
        (i) =>
          `<tr class="${i.ok ? 'passed' : 'failed'}"><td>${esc(r.id)}</td><td>${i.invariant}</td><td>${
            i.ok ? 'yes' : 'NO'
          }</td><td>${esc(i.detail)}</td><td>${esc(i.examples.join(', '))}</td></tr>`,
      ),
    )
    .join('\n');
  const chart = (id: string, caption: string, wide = false) =>
    `<figure class="${wide ? 'wide' : ''}"><figcaption>${caption}</figcaption><div class="chart"><div class="fault-tags" data-chart="${id}"></div><canvas id="${id}"></canvas></div></figure>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(summary.name)} — ${ok ? 'PASSED' : 'FAILED'}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2327; }
  h1 { margin-bottom: .2rem; } .meta { color: #555; margin-bottom: 1rem; }
  .verdict { display: inline-block; padding: .2rem .7rem; border-radius: 4px; color: #fff; font-weight: 600; }
  .verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; }
  .legends { display: grid; grid-template-columns: 3fr 2fr; gap: 1.5rem; margin-bottom: 1rem; }
  .legends ol, .legends ul { margin: .2rem 0; padding-left: 1.2rem; list-style: none; }
  .legends h2 { font-size: 1rem; margin: 0; }
  .swatch { display: inline-block; min-width: 1.1rem; text-align: center; border-radius: 3px; font-size: 11px; background: rgba(255,160,0,0.45); }
  li.unverified .swatch { background: rgba(200,0,0,0.4); }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
  figure { margin: 0; } figure.wide { grid-column: 1 / -1; } figcaption { font-weight: 600; margin-bottom: .3rem; }
  figcaption small { font-weight: 400; color: #555; }
  .chart { position: relative; }
  .fault-tags { position: relative; height: 0; }
  .fault-tag { position: absolute; top: 0; font: 11px/14px system-ui, sans-serif; height: 14px; padding: 0 4px;
    white-space: nowrap; background: rgba(255,160,0,0.35); border-left: 2px solid #ef6c00; border-radius: 0 3px 3px 0; }
  .fault-tag.unverified { background: rgba(200,0,0,0.25); border-left-color: #c62828; }
  canvas { max-height: 300px; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
  tr.failed td, tr.aborted td, tr.error td { background: #fdecea; }
</style>
</head>
<body>
<h1>${esc(summary.name)} <span class="verdict ${ok ? 'pass' : 'fail'}" id="verdict">${ok ? 'PASSED' : 'FAILED'}</span></h1>
<div class="meta">run ${esc(summary.runId)} on ${esc(summary.platform)} · ${esc(summary.startedAt)} → ${esc(summary.finishedAt)} · shaded bands are fault windows, numbered as below (red: effect not verified)</div>
<div class="legends">
  <div><h2>Fault windows</h2>${faultLegend(windows)}</div>
  <div><h2>Load</h2>${loadLegend(loads)}</div>
</div>
<div class="grid">
  ${chart('latency', 'Latency (ms) — p50, p95, p99 <small>of every request k6 made where background load ran (solid; long polls left out), of the synthetic monitor elsewhere (dashed); each point over the shortest trailing window holding 100 requests, at most 10 s</small>', true)}
  ${chart('throughput', "Throughput (requests/s), k6 iterations started/s and error rate <small>requests that ended in each second; iterations that began in it (the load's arrival rate); error rate over the same window as the latency</small>", true)}
  ${chart('route-rate', `Requests/s by route <small>as each service counts them on its own <code>/metrics</code>, read every ${ROUTE_SCRAPE_MS / 1000} s; the busiest routes of the run, health checks left out; a gap where a service could not answer</small>`)}
  ${chart('route-latency', `p95 latency by route (ms) <small>from each service’s own latency histogram over the same ${ROUTE_SCRAPE_MS / 1000} s, interpolated within its buckets (5, 10, 25, 50, 100, 250, 500 ms…)</small>`)}
  ${chart('queues', 'Payment queue depth and DLQ')}
  ${chart('recovery', 'Time to recover steady state, per experiment (s)')}
</div>
<h2>Experiments</h2>
<table>
<thead><tr><th>id</th><th>title</th><th>verdict</th><th>faults (effect)</th><th>abort reaction</th><th>recovery</th><th>reasons</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<h2>Invariants</h2>
<table>
<thead><tr><th>experiment</th><th>invariant</th><th>holds</th><th>detail</th><th>examples</th></tr></thead>
<tbody>
${invariantRows || '<tr><td colspan="5">no experiment named invariants to audit</td></tr>'}
</tbody>
</table>
${marginsHtml(summary.margins ?? [])}${driftHtml(summary.drift)}<script>${script('chart.js', 'chart.umd.min.js')}</script>
<script>${script('chartjs-plugin-annotation', 'chartjs-plugin-annotation.min.js')}</script>
<script>
const data = ${data};
const seconds = (ms) => Math.round(ms / 100) / 10;
const bands = Object.fromEntries(data.windows.map((w, i) => ['w' + i, {
  type: 'box', xMin: seconds(w.from), xMax: seconds(w.to),
  backgroundColor: w.verified ? 'rgba(255,160,0,0.18)' : 'rgba(200,0,0,0.15)', borderWidth: 0,
}]));
// Each fault's tag sits above the plot at its band's start. Tags are laid out in rows: a tag
// goes in the first row where it clears the tag before it, so no two ever overlap however
// close the faults are (the legend above the charts names each number in full).
const LANE = 16;
const faultTags = {
  id: 'faultTags',
  afterRender(chart) {
    const strip = document.querySelector('.fault-tags[data-chart="' + chart.canvas.id + '"]');
    if (!strip || !chart.scales.x) return;
    if (strip.children.length === 0) {
      data.windows.forEach((w, i) => {
        const tag = document.createElement('span');
        tag.className = 'fault-tag' + (w.verified ? '' : ' unverified');
        tag.textContent = (i + 1) + ' ' + w.fault;
        tag.title = w.label;
        tag.dataset.window = String(i);
        strip.appendChild(tag);
      });
    }
    const tags = [...strip.children].map((el) => {
      const w = data.windows[Number(el.dataset.window)];
      const width = el.offsetWidth;
      const x = chart.scales.x.getPixelForValue(seconds(w.from));
      return { el, width, left: Math.max(0, Math.min(x, chart.width - width)) };
    }).sort((a, b) => a.left - b.left);
    const ends = [];
    for (const t of tags) {
      let lane = ends.findIndex((end) => end + 3 <= t.left);
      if (lane === -1) { lane = ends.length; ends.push(0); }
      ends[lane] = t.left + t.width;
      t.el.style.left = t.left + 'px';
      t.el.style.top = (lane * LANE) + 'px';
    }
    strip.style.height = (ends.length * LANE + (ends.length ? 2 : 0)) + 'px';
  },
};
const end = Math.max(0, ...data.samples.map((s) => s.t), ...data.windows.map((w) => w.to));
const point = (s, y) => ({ x: seconds(s.t), y: y ?? null, n: s.n, windowS: s.windowS, source: s.source });
const series = (key) => data.samples.map((s) => point(s, s[key]));
const monitorDashed = { borderDash: (ctx) => ctx.p1.raw && ctx.p1.raw.source === 'monitor' ? [5, 3] : undefined };
const describe = (ctx) => {
  const raw = ctx.raw || {};
  const where = raw.n ? ' — ' + raw.n + ' requests over ' + raw.windowS + ' s, ' + (raw.source === 'k6' ? 'k6' : 'synthetic monitor') : '';
  return ctx.dataset.label + ': ' + ctx.formattedValue + where;
};
const timeChart = (id, datasets, extraScales = {}) => new Chart(document.getElementById(id), {
  type: 'line',
  data: { datasets: datasets.map((d) => ({ pointRadius: 0, borderWidth: 1.5, segment: monitorDashed, ...d })) },
  plugins: [faultTags],
  options: {
    animation: false, parsing: true, spanGaps: false,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: { x: { type: 'linear', min: 0, max: seconds(end), title: { display: true, text: 'seconds into the run' } }, y: { beginAtZero: true }, ...extraScales },
    plugins: { annotation: { annotations: bands }, legend: { position: 'bottom' }, tooltip: { callbacks: { label: describe } } },
  },
});
timeChart('latency', [
  { label: 'p50', data: series('p50'), borderColor: '#1565c0' },
  { label: 'p95', data: series('p95'), borderColor: '#ef6c00' },
  { label: 'p99', data: series('p99'), borderColor: '#c62828' },
]);
timeChart('throughput', [
  { label: 'requests/s', data: series('rps'), borderColor: '#2e7d32', yAxisID: 'y' },
  { label: 'k6 iterations started/s', data: series('iterations'), borderColor: '#6a1b9a', yAxisID: 'y', segment: {} },
  { label: 'k6 arrivals dropped/s', data: series('dropped'), borderColor: '#9e9e9e', borderDash: [2, 2], yAxisID: 'y', segment: {} },
  { label: 'error rate', data: series('errorRate'), borderColor: '#c62828', yAxisID: 'errors' },
], { errors: { position: 'right', min: 0, max: 1, grid: { drawOnChartArea: false } } });
const ROUTE_COLOURS = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457'];
const routeLines = (key) => data.routes.map((r, i) => ({
  label: r.service + ' ' + r.route,
  data: r.points.map((p) => ({ x: seconds(p.t), y: p[key] ?? null })),
  borderColor: ROUTE_COLOURS[i % ROUTE_COLOURS.length],
  segment: {},
}));
timeChart('route-rate', routeLines('rps'));
timeChart('route-latency', routeLines('p95'));
timeChart('queues', [
  { label: 'payment requests', data: series('queueDepth'), borderColor: '#6a1b9a', segment: {} },
  { label: 'DLQ', data: series('dlqDepth'), borderColor: '#c62828', segment: {} },
]);
new Chart(document.getElementById('recovery'), {
  type: 'bar',
  data: {
    labels: data.results.map((r) => r.id),
    datasets: [{ label: 'recovery (s)', data: data.results.map((r) => r.recoveryMs == null ? null : r.recoveryMs / 1000), backgroundColor: '#1565c0' }],
  },
  options: { animation: false },
});
document.body.dataset.chartsReady = 'true';
</script>
</body>
</html>
`;
}
