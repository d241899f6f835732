import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FaultKeys, type JournalEvent } from './journal.js';
import type { RunSummary } from './report.js';
import { driftHtml, marginsHtml } from './report-sections.js';
import type { Sample } from './telemetry.js';

/**
 * The game-day report as one self-contained HTML file: Chart.js and its annotation plugin are
 * inlined (no network when it is opened), the data is embedded as JSON, and the page draws
 * latency percentiles, throughput and errors, queue depth and DLQ over time with every fault
 * window shaded, recovery time per experiment, the tables, and the verdict.
 */

const require = createRequire(import.meta.url);
/** A browser build that ships beside a package's main file (their `exports` do not list it). */
const script = (pkg: string, file: string) =>
  // a library that contains "</script" would end the tag early
  readFileSync(join(dirname(require.resolve(pkg)), file), 'utf8').replace(/<\/script/gi, '<\\/script');

export interface Window {
  readonly label: string;
  readonly from: number;
  readonly to: number;
  readonly verified: boolean;
}

/** Fault windows in milliseconds since `origin`, from the journal's injecting/reverted events. */
export function faultWindows(events: readonly JournalEvent[], origin: number): Window[] {
  const open = new Map<string, { from: number; verified: boolean }>();
  const windows: Window[] = [];
  const keys = new FaultKeys();
  for (const e of events) {
    const key = keys.keyOf(e);
    const t = Date.parse(e.at) - origin;
    if (e.type === 'fault.injecting') open.set(key, { from: t, verified: false });
    if (e.type === 'fault.injected') {
      const w = open.get(key);
      if (w) w.verified = (e.effect as { verified?: boolean } | undefined)?.verified === true;
    }
    if (e.type === 'fault.reverted' || e.type === 'fault.revert-failed') {
      const w = open.get(key);
      if (w)
        windows.push({
          label: `${e.experiment}: ${String(e.fault)}`,
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

export function reportHtml(
  summary: RunSummary,
  samples: readonly Sample[],
  windows: readonly Window[],
): string {
  const ran = summary.results.length + (summary.margins?.length ?? 0);
  const ok = ran > 0 && summary.results.every((r) => r.verdict === 'passed');
  const data = JSON.stringify({ samples, windows, results: summary.results }).replace(/</g, '\\u003c');
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
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(summary.name)} — ${ok ? 'PASSED' : 'FAILED'}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d2327; }
  h1 { margin-bottom: .2rem; } .meta { color: #555; margin-bottom: 1.5rem; }
  .verdict { display: inline-block; padding: .2rem .7rem; border-radius: 4px; color: #fff; font-weight: 600; }
  .verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; }
  figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
  canvas { max-height: 260px; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
  tr.failed td, tr.aborted td, tr.error td { background: #fdecea; }
</style>
</head>
<body>
<h1>${esc(summary.name)} <span class="verdict ${ok ? 'pass' : 'fail'}" id="verdict">${ok ? 'PASSED' : 'FAILED'}</span></h1>
<div class="meta">run ${esc(summary.runId)} on ${esc(summary.platform)} · ${esc(summary.startedAt)} → ${esc(summary.finishedAt)} · shaded bands are fault windows (red: effect not verified)</div>
<div class="grid">
  <figure><figcaption>Latency (ms) — p50, p95, p99 of the synthetic monitor</figcaption><canvas id="latency"></canvas></figure>
  <figure><figcaption>Throughput (req/s) and error rate</figcaption><canvas id="throughput"></canvas></figure>
  <figure><figcaption>Payment queue depth and DLQ</figcaption><canvas id="queues"></canvas></figure>
  <figure><figcaption>Time to recover steady state, per experiment (s)</figcaption><canvas id="recovery"></canvas></figure>
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
  backgroundColor: w.verified ? 'rgba(255,160,0,0.15)' : 'rgba(200,0,0,0.15)', borderWidth: 0,
  label: { display: true, content: w.label, position: 'start', font: { size: 10 } },
}]));
const series = (key) => data.samples.map((s) => ({ x: seconds(s.t), y: s[key] ?? null }));
const timeChart = (id, datasets, extraScales = {}) => new Chart(document.getElementById(id), {
  type: 'line',
  data: { datasets },
  options: {
    animation: false, parsing: true, spanGaps: false, pointRadius: 0,
    scales: { x: { type: 'linear', title: { display: true, text: 'seconds into the run' } }, y: { beginAtZero: true }, ...extraScales },
    plugins: { annotation: { annotations: bands } },
  },
});
timeChart('latency', [
  { label: 'p50', data: series('p50'), borderColor: '#1565c0' },
  { label: 'p95', data: series('p95'), borderColor: '#ef6c00' },
  { label: 'p99', data: series('p99'), borderColor: '#c62828' },
]);
timeChart('throughput', [
  { label: 'req/s', data: series('rps'), borderColor: '#2e7d32', yAxisID: 'y' },
  { label: 'error rate', data: series('errorRate'), borderColor: '#c62828', yAxisID: 'errors' },
], { errors: { position: 'right', min: 0, max: 1 } });
timeChart('queues', [
  { label: 'payment requests', data: series('queueDepth'), borderColor: '#6a1b9a' },
  { label: 'DLQ', data: series('dlqDepth'), borderColor: '#c62828' },
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
