import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANNOTATIONS_FILE, annotationsFor } from './annotations.js';
import { loadSpans } from './chart-series.js';
import { type Drift, driftLines } from './drift.js';
import type { Journal } from './journal.js';
import type { MarginResult } from './margin.js';
import { faultWindows, reportHtml } from './report-html.js';
import type { RouteSeries } from './route-metrics.js';
import type { ExperimentResult } from './runner.js';
import type { Sample } from './telemetry.js';

/**
 * Writes what a run found, for people (report.html with charts, summary.md) and for CI (junit.xml: one case per
 * hypothesis, fault effect and recovery). Everything comes from the results and the journal.
 */

export interface RunSummary {
  readonly runId: string;
  readonly name: string;
  readonly platform: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly results: readonly ExperimentResult[];
  /** Breaking points the run searched (margin.ts); not part of the verdict. */
  readonly margins?: readonly MarginResult[];
  /** What differs on the platform between before and after the run (drift.ts). */
  readonly drift?: Drift;
}

export const passed = (summary: RunSummary): boolean => summary.results.every((r) => r.verdict === 'passed');

const ms = (n: number | undefined) =>
  n === undefined ? '—' : n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`;
const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function summaryMarkdown(summary: RunSummary): string {
  const lines = [
    `# ${summary.name} — ${passed(summary) ? 'PASSED' : 'FAILED'}`,
    '',
    `Run \`${summary.runId}\` on ${summary.platform}, ${summary.startedAt} → ${summary.finishedAt}.`,
    '',
    ...(summary.results.length > 0
      ? ['| experiment | verdict | faults verified | abort reaction | recovery |', '|---|---|---|---|---|']
      : []),
    ...summary.results.map(
      (r) =>
        `| ${r.id} | ${r.verdict} | ${r.faults.filter((f) => f.effect?.verified).length}/${r.faults.length} | ${
          r.abort ? ms(r.abort.reactionMs) : '—'
        } | ${ms(r.recoveryMs)} |`,
    ),
  ];
  for (const r of summary.results) {
    lines.push('', `## ${r.id}: ${r.title}`, '', `Verdict: **${r.verdict}**.`);
    if (r.reasons.length > 0) lines.push('', ...r.reasons.map((reason) => `- ${reason}`));
    lines.push('', '| phase | probe | ok | observed |', '|---|---|---|---|');
    for (const [phase, results] of [
      ['before', r.before],
      ['during', r.during],
      ['after', r.after],
    ] as const) {
      for (const p of results)
        lines.push(`| ${phase} | ${p.name} | ${p.ok ? 'yes' : 'no'} | ${p.observed} |`);
    }
    if (r.invariants.length > 0) {
      lines.push('', '| invariant | holds | detail |', '|---|---|---|');
      for (const i of r.invariants)
        lines.push(`| ${i.invariant} | ${i.ok ? 'yes' : '**NO**'} | ${i.detail} |`);
    }
    if (r.faults.length > 0) {
      lines.push('', '| fault | target | effect | revert |', '|---|---|---|---|');
      for (const f of r.faults) {
        lines.push(
          `| ${f.name} (${f.type}) | ${f.target} | ${f.effect?.verified ? '✓' : '✗'} ${f.effect?.detail ?? ''} | ${
            f.revert?.verified ? '✓' : '✗'
          } ${f.revert?.detail ?? 'not reverted'} |`,
        );
      }
    }
  }
  lines.push(...marginsMarkdown(summary.margins ?? []));
  if (summary.drift)
    lines.push('', '## Drift certificate', '', ...driftLines(summary.drift).map((l) => `- ${l}`));
  return `${lines.join('\n')}\n`;
}

function marginsMarkdown(margins: readonly MarginResult[]): string[] {
  return margins.flatMap((m) => [
    '',
    `## Margin: ${m.experiment}, ${m.field}`,
    '',
    `**${m.sentence}**`,
    '',
    `| ${m.field} | verdict | why |`,
    '|---|---|---|',
    ...m.runs.map((r) => `| ${r.dose} | ${r.verdict} | ${r.reasons.join('; ') || '—'} |`),
  ]);
}

export function junitXml(summary: RunSummary): string {
  const cases: string[] = [];
  let failures = 0;
  const testcase = (suite: string, name: string, ok: boolean, message: string) => {
    if (!ok) failures++;
    cases.push(
      `    <testcase classname="${esc(suite)}" name="${esc(name)}">${
        ok ? '' : `<failure message="${esc(message)}"/>`
      }</testcase>`,
    );
  };
  for (const r of summary.results) {
    for (const p of r.before) testcase(r.id, `hypothesis before: ${p.name}`, p.ok, p.observed);
    for (const f of r.faults)
      testcase(r.id, `fault effect: ${f.name}`, f.effect?.verified === true, f.effect?.detail ?? '');
    for (const f of r.faults)
      testcase(r.id, `fault reverted: ${f.name}`, f.revert?.verified === true, f.revert?.detail ?? '');
    for (const p of r.during) testcase(r.id, `probe during: ${p.name}`, p.ok, p.observed);
    testcase(r.id, 'no abort', r.abort === undefined, r.abort?.condition ?? '');
    testcase(r.id, 'steady state recovered', r.recoveryMs !== undefined, r.reasons.join('; '));
    for (const i of r.invariants) testcase(r.id, `invariant: ${i.invariant}`, i.ok, i.detail);
    for (const p of r.after) testcase(r.id, `hypothesis after: ${p.name}`, p.ok, p.observed);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(summary.name)}" tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="${esc(summary.runId)}" tests="${cases.length}" failures="${failures}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/**
 * Writes report.html, summary.md, junit.xml, results.json and annotations.json (the fault
 * windows, Grafana-style) beside the journal; returns the folder.
 */
export function writeReports(
  journal: Journal,
  summary: RunSummary,
  samples: readonly Sample[],
  origin: number,
  routes: readonly RouteSeries[] = [],
): string {
  journal.flush();
  const windows = faultWindows(journal.events, origin);
  writeFileSync(
    join(journal.dir, 'report.html'),
    reportHtml(summary, samples, windows, loadSpans(journal.events, origin), routes),
  );
  writeFileSync(
    join(journal.dir, ANNOTATIONS_FILE),
    `${JSON.stringify(annotationsFor(windows, origin, summary.runId), null, 2)}\n`,
  );
  // the raw series, for `cloudcafe report diff` and the trend page (history.ts)
  writeFileSync(join(journal.dir, 'samples.json'), `${JSON.stringify(samples)}\n`);
  writeFileSync(join(journal.dir, 'summary.md'), summaryMarkdown(summary));
  writeFileSync(join(journal.dir, 'junit.xml'), junitXml(summary));
  writeFileSync(join(journal.dir, 'results.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return journal.dir;
}
