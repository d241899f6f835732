import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Drift } from './drift.js';
import type { JournalEvent } from './journal.js';
import type { MarginResult } from './margin.js';
import type { RunSummary } from './report.js';
import { faultWindows } from './report-html.js';
import type { Sample } from './telemetry.js';

/**
 * Run history: what each run folder in reports/ says, boiled down to the figures a team
 * compares from one run to the next — verdicts, recovery times, p99 under each fault, margins,
 * invariant counts, abort reactions, drift — and laid side by side (`cloudcafe report diff`) or
 * over time (`cloudcafe report trend`). Everything is read from the files a run writes
 * (results.json, journal.json, samples.json); a file a run did not write (an older run, a run
 * that died) leaves its figures empty, never invented.
 */

export interface FaultFigure {
  readonly name: string;
  /**
   * Median of the per-second p99 latency samples taken while the fault was in force (the
   * report's latency series); undefined when no sample fell inside its window.
   */
  readonly p99Ms: number | undefined;
}

export interface ExperimentFigures {
  /** The experiment id; `id#2` for its second run within the same run folder. */
  readonly key: string;
  readonly verdict: string;
  readonly recoveryMs: number | undefined;
  readonly abortReactionMs: number | undefined;
  readonly invariantsHeld: number;
  readonly invariantsTotal: number;
  readonly faults: readonly FaultFigure[];
  readonly reasons: readonly string[];
}

export interface RunRecord {
  readonly runId: string;
  readonly dir: string;
  readonly name: string;
  readonly platform: string;
  readonly startedAt: string;
  readonly verdict: 'PASSED' | 'FAILED';
  readonly experiments: readonly ExperimentFigures[];
  readonly margins: readonly MarginResult[];
  readonly drift: Drift | undefined;
}

const readJson = <T>(file: string): T | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return Math.round(value * 10) / 10;
}

/** Reads one run folder; throws, naming the folder, when it holds no results.json. */
export function readRun(dir: string): RunRecord {
  const summary = readJson<RunSummary>(join(dir, 'results.json'));
  if (!summary) throw new Error(`${dir} holds no results.json: not a finished run`);
  const events = readJson<{ events: JournalEvent[] }>(join(dir, 'journal.json'))?.events ?? [];
  const samples = readJson<Sample[]>(join(dir, 'samples.json')) ?? [];
  const windows = faultWindows(events, Date.parse(summary.startedAt));
  const seen = new Map<string, number>();
  const experiments = summary.results.map((r): ExperimentFigures => {
    const n = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, n);
    // the nth run of this id in the folder owns the nth window of each of its faults
    const ofThis = (fault: string) => windows.filter((w) => w.label === `${r.id}: ${fault}`)[n - 1];
    return {
      key: n === 1 ? r.id : `${r.id}#${n}`,
      verdict: r.verdict,
      recoveryMs: r.recoveryMs,
      abortReactionMs: r.abort?.reactionMs,
      invariantsHeld: r.invariants.filter((i) => i.ok).length,
      invariantsTotal: r.invariants.length,
      reasons: r.reasons,
      faults: r.faults.map((f) => {
        const w = ofThis(f.name);
        const inside = w
          ? samples
              .filter((s) => s.t >= w.from && s.t <= w.to && s.p99 !== undefined)
              .map((s) => s.p99 as number)
          : [];
        return { name: f.name, p99Ms: median(inside) };
      }),
    };
  });
  return {
    runId: summary.runId,
    dir,
    name: summary.name,
    platform: summary.platform,
    startedAt: summary.startedAt,
    verdict: summary.results.every((r) => r.verdict === 'passed') ? 'PASSED' : 'FAILED',
    experiments,
    margins: summary.margins ?? [],
    drift: summary.drift,
  };
}

/** A run id (a folder in `reportsDir`) or a path to a run folder. */
export function runDir(idOrPath: string, reportsDir: string): string {
  const inReports = join(reportsDir, idOrPath);
  if (existsSync(join(inReports, 'results.json'))) return inReports;
  if (existsSync(join(idOrPath, 'results.json'))) return resolve(idOrPath);
  const near = existsSync(reportsDir)
    ? readdirSync(reportsDir)
        .filter((d) => d.includes(idOrPath))
        .slice(-3)
    : [];
  throw new Error(
    `no finished run "${idOrPath}" in ${reportsDir}${near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''}`,
  );
}

/** Every finished run in `reportsDir`, oldest first; folders without results.json are skipped. */
export function listRuns(reportsDir: string): RunRecord[] {
  if (!existsSync(reportsDir)) return [];
  return readdirSync(reportsDir)
    .filter((d) => existsSync(join(reportsDir, d, 'results.json')))
    .map((d) => readRun(join(reportsDir, d)))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
}

// ── diff ───────────────────────────────────────────────────────────────────────────────────

export const ms = (n: number | undefined): string =>
  n === undefined ? '—' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;

const signed = (n: number) => (n > 0 ? `+${ms(n)}` : n < 0 ? `−${ms(-n)}` : 'same');

function numberChange(a: number | undefined, b: number | undefined): string {
  if (a === undefined && b === undefined) return '';
  if (a === undefined || b === undefined) return a === undefined ? 'new' : 'gone';
  return signed(b - a);
}

function verdictChange(a: string | undefined, b: string | undefined): string {
  if (a === undefined) return 'only in b';
  if (b === undefined) return 'only in a';
  if (a === b) return 'same';
  if (b === 'passed') return 'FIXED';
  if (a === 'passed') return 'REGRESSED';
  return 'changed';
}

const margin = (m: MarginResult | undefined) =>
  m === undefined
    ? '—'
    : m.stopped
      ? `stopped${m.holdsUpTo === undefined ? '' : `, held ≤ ${m.holdsUpTo}`}`
      : m.failsAt === undefined
        ? `holds ≤ ${m.holdsUpTo} (no break)`
        : `holds ≤ ${m.holdsUpTo ?? 'none'}, fails ${m.failsAt}`;

const drift = (d: Drift | undefined) =>
  d === undefined
    ? '—'
    : !d.certified
      ? 'no certificate'
      : d.entries.length === 0
        ? 'clean'
        : `${d.entries.length} left over`;

/** One row per figure: [experiment, figure, run a, run b, change]. */
export type DiffRow = readonly [string, string, string, string, string];

/** Every figure of every experiment in either run, side by side, with what changed. */
export function diffRows(a: RunRecord, b: RunRecord): DiffRow[] {
  const rows: DiffRow[] = [
    [
      '(run)',
      'verdict',
      a.verdict,
      b.verdict,
      a.verdict === b.verdict ? 'same' : b.verdict === 'PASSED' ? 'FIXED' : 'REGRESSED',
    ],
    [
      '(run)',
      'drift',
      drift(a.drift),
      drift(b.drift),
      drift(a.drift) === drift(b.drift) ? 'same' : 'changed',
    ],
  ];
  const keys = [...new Set([...a.experiments.map((e) => e.key), ...b.experiments.map((e) => e.key)])];
  for (const key of keys) {
    const x = a.experiments.find((e) => e.key === key);
    const y = b.experiments.find((e) => e.key === key);
    const invariants = (e: ExperimentFigures | undefined) =>
      e === undefined
        ? '—'
        : e.invariantsTotal === 0
          ? 'none audited'
          : `${e.invariantsHeld}/${e.invariantsTotal} held`;
    rows.push(
      [key, 'verdict', x?.verdict ?? '—', y?.verdict ?? '—', verdictChange(x?.verdict, y?.verdict)],
      [key, 'recovery', ms(x?.recoveryMs), ms(y?.recoveryMs), numberChange(x?.recoveryMs, y?.recoveryMs)],
      [
        key,
        'abort reaction',
        ms(x?.abortReactionMs),
        ms(y?.abortReactionMs),
        numberChange(x?.abortReactionMs, y?.abortReactionMs),
      ],
      [
        key,
        'invariants',
        invariants(x),
        invariants(y),
        x && y ? (invariants(x) === invariants(y) ? 'same' : 'changed') : '',
      ],
    );
    const faults = [...new Set([...(x?.faults ?? []), ...(y?.faults ?? [])].map((f) => f.name))];
    for (const fault of faults) {
      const p = x?.faults.find((f) => f.name === fault)?.p99Ms;
      const q = y?.faults.find((f) => f.name === fault)?.p99Ms;
      rows.push([key, `p99 under "${fault}"`, ms(p), ms(q), numberChange(p, q)]);
    }
  }
  const marginKey = (m: MarginResult) => `${m.experiment} ${m.field}`;
  const marginKeys = [...new Set([...a.margins, ...b.margins].map(marginKey))];
  for (const key of marginKeys) {
    const x = a.margins.find((m) => marginKey(m) === key);
    const y = b.margins.find((m) => marginKey(m) === key);
    const change =
      x?.holdsUpTo !== undefined && y?.holdsUpTo !== undefined
        ? y.holdsUpTo === x.holdsUpTo
          ? 'same'
          : `${y.holdsUpTo > x.holdsUpTo ? '+' : '−'}${Math.abs(y.holdsUpTo - x.holdsUpTo)}${x.unit ? ` ${x.unit}` : ''}`
        : '';
    rows.push([(x ?? y)?.experiment ?? key, `margin ${(x ?? y)?.field}`, margin(x), margin(y), change]);
  }
  return rows;
}

// ── trend ──────────────────────────────────────────────────────────────────────────────────

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One figure over the runs as a small inline SVG line; a run without the figure is skipped. */
function sparkline(values: readonly (number | undefined)[]): string {
  const known = values.filter((v): v is number => v !== undefined);
  if (known.length < 2) return '';
  const max = Math.max(...known) || 1;
  const w = 120;
  const h = 24;
  const step = w / Math.max(1, values.length - 1);
  const points = values
    .map((v, i) =>
      v === undefined ? undefined : `${(i * step).toFixed(1)},${(h - (v / max) * (h - 2) - 1).toFixed(1)}`,
    )
    .filter(Boolean)
    .join(' ');
  const title = values.map((v) => (v === undefined ? '—' : String(v))).join(', ');
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img"><title>${esc(title)}</title><polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="${points}"/></svg>`;
}

/** An HTML page over every run: one row per run, one column per experiment, margins and drift. */
export function trendHtml(runs: readonly RunRecord[]): string {
  const ids = [...new Set(runs.flatMap((r) => r.experiments.map((e) => e.key)))];
  const marginKeys = [...new Set(runs.flatMap((r) => r.margins.map((m) => `${m.experiment} ${m.field}`)))];
  const cell = (run: RunRecord, id: string) => {
    const e = run.experiments.find((x) => x.key === id);
    if (!e) return '<td class="none">—</td>';
    const p99 = Math.max(...e.faults.map((f) => f.p99Ms ?? 0));
    return `<td class="${e.verdict === 'passed' ? 'passed' : 'failed'}" title="${esc(e.reasons.join('; '))}">${e.verdict}<br><small>recovery ${ms(
      e.recoveryMs,
    )}${p99 > 0 ? ` · p99 ${ms(p99)}` : ''} · ${e.invariantsHeld}/${e.invariantsTotal} inv.</small></td>`;
  };
  const marginCell = (run: RunRecord, key: string) => {
    const m = run.margins.find((x) => `${x.experiment} ${x.field}` === key);
    return `<td>${esc(margin(m))}</td>`;
  };
  const rows = runs
    .map(
      (r) =>
        `<tr><td><a href="${esc(`${basename(r.dir)}/report.html`)}">${esc(r.runId)}</a></td><td class="${
          r.verdict === 'PASSED' ? 'passed' : 'failed'
        }">${r.verdict}</td><td>${esc(drift(r.drift))}</td>${ids.map((id) => cell(r, id)).join('')}${marginKeys
          .map((k) => marginCell(r, k))
          .join('')}</tr>`,
    )
    .join('\n');
  const trends = ids
    .map((id) => {
      const of = runs.map((r) => r.experiments.find((e) => e.key === id));
      return `<tr><td>${esc(id)}</td><td>${of.filter((e) => e?.verdict === 'passed').length}/${
        of.filter(Boolean).length
      } passed</td><td>${sparkline(of.map((e) => e?.recoveryMs))}</td><td>${sparkline(
        of.map((e) => (e ? Math.max(0, ...e.faults.map((f) => f.p99Ms ?? 0)) || undefined : undefined)),
      )}</td></tr>`;
    })
    .join('\n');
  const marginTrends = marginKeys
    .map(
      (k) =>
        `<tr><td>${esc(k)}</td><td>${sparkline(
          runs.map((r) => r.margins.find((m) => `${m.experiment} ${m.field}` === k)?.holdsUpTo),
        )}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CloudCafe — trend over ${runs.length} runs</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2327; }
  table { border-collapse: collapse; margin-top: 1rem; }
  th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  td.passed { background: #e8f5e9; } td.failed { background: #fdecea; } td.none { color: #999; }
  small { color: #555; }
</style>
</head>
<body>
<h1>Trend over ${runs.length} run${runs.length === 1 ? '' : 's'}</h1>
<p>Oldest first. Each cell: the experiment's verdict, its recovery time, the worst p99 under one of its faults (median of the per-second p99 samples in the fault window) and its invariants held. Hover a failed cell for its reasons.</p>
<h2>Per experiment</h2>
<table>
<thead><tr><th>experiment</th><th>passed</th><th>recovery over runs</th><th>p99 under fault over runs</th></tr></thead>
<tbody>
${trends || '<tr><td colspan="4">no experiment runs</td></tr>'}
</tbody>
</table>
${marginKeys.length > 0 ? `<h2>Margins over runs (highest dose that held)</h2>\n<table><thead><tr><th>margin</th><th>over runs</th></tr></thead><tbody>\n${marginTrends}\n</tbody></table>` : ''}
<h2>Runs</h2>
<table id="runs">
<thead><tr><th>run</th><th>verdict</th><th>drift</th>${ids.map((id) => `<th>${esc(id)}</th>`).join('')}${marginKeys
    .map((k) => `<th>margin ${esc(k)}</th>`)
    .join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}
