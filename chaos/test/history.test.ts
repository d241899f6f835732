import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { diffRows, listRuns, readRun, runDir, trendHtml } from '../src/history.js';

// Run history over fixture run folders (test/fixtures/runs): two game-day runs a day apart in
// which compute-kill went from failing to passing and the latency margin moved up one step,
// and the folder of a run that died before writing results.json. No lab.

const RUNS = join(import.meta.dirname, 'fixtures', 'runs');
const A = '20261201T100000-gameday-default';
const B = '20261202T100000-gameday-default';

const row = (rows: ReturnType<typeof diffRows>, experiment: string, figure: string) =>
  rows.find((r) => r[0] === experiment && r[1] === figure);

t.test('a run folder boils down to its figures', async (t) => {
  const a = readRun(runDir(A, RUNS));
  t.equal(a.verdict, 'FAILED');
  const latency = a.experiments.find((e) => e.key === 'network-latency');
  t.equal(latency?.recoveryMs, 1200);
  t.same(
    latency?.faults,
    [{ name: 'slow inventory link', p99Ms: 500 }],
    'median p99 inside the fault window only',
  );
  const kill = a.experiments.find((e) => e.key === 'compute-kill');
  t.match(kill, { verdict: 'failed', abortReactionMs: 900, invariantsHeld: 1, invariantsTotal: 2 });
  t.equal(a.margins[0]?.holdsUpTo, 367);
});

t.test('diff: every figure of every experiment in either run, and what changed', async (t) => {
  const rows = diffRows(readRun(runDir(A, RUNS)), readRun(runDir(B, RUNS)));
  t.same(row(rows, '(run)', 'verdict'), ['(run)', 'verdict', 'FAILED', 'PASSED', 'FIXED']);
  t.same(row(rows, '(run)', 'drift'), ['(run)', 'drift', 'clean', '1 left over', 'changed']);
  t.same(row(rows, 'compute-kill', 'verdict'), ['compute-kill', 'verdict', 'failed', 'passed', 'FIXED']);
  t.same(row(rows, 'compute-kill', 'invariants'), [
    'compute-kill',
    'invariants',
    '1/2 held',
    '2/2 held',
    'changed',
  ]);
  t.same(row(rows, 'compute-kill', 'abort reaction'), [
    'compute-kill',
    'abort reaction',
    '900 ms',
    '—',
    'gone',
  ]);
  t.same(row(rows, 'network-latency', 'recovery'), [
    'network-latency',
    'recovery',
    '1.2 s',
    '800 ms',
    '−400 ms',
  ]);
  t.same(row(rows, 'network-latency', 'p99 under "slow inventory link"'), [
    'network-latency',
    'p99 under "slow inventory link"',
    '500 ms',
    '300 ms',
    '−200 ms',
  ]);
  t.same(row(rows, 'cache-outage', 'verdict'), ['cache-outage', 'verdict', '—', 'passed', 'only in b']);
  t.same(row(rows, 'cache-outage', 'invariants'), ['cache-outage', 'invariants', '—', 'none audited', '']);
  t.same(row(rows, 'network-latency', 'margin latencyMs'), [
    'network-latency',
    'margin latencyMs',
    'holds ≤ 367, fails 472',
    'holds ≤ 472, fails 578',
    '+105 ms',
  ]);
});

t.test('a run that is not there, or never finished, is refused by name', async (t) => {
  t.throws(() => runDir('20261202T110000-crashed', RUNS), /no finished run "20261202T110000-crashed"/);
  t.throws(() => runDir('1999', RUNS), /no finished run "1999"/);
  t.throws(() => runDir('gameday', RUNS), /did you mean .*gameday-default/);
});

t.test(
  'trend: every finished run, oldest first, with its verdict per experiment and its margin',
  async (t) => {
    const runs = listRuns(RUNS);
    t.same(
      runs.map((r) => r.runId),
      [A, B],
      'the crashed folder is skipped',
    );
    const html = trendHtml(runs);
    const body = html.slice(html.indexOf('<table id="runs">'));
    t.ok(body.indexOf(A) < body.indexOf(B), 'oldest first');
    t.match(html, /<th>compute-kill<\/th>/);
    t.match(html, /1\/2 passed/, 'compute-kill passed in one run of two');
    t.match(html, /holds ≤ 367, fails 472/);
    t.match(html, /<polyline/, 'a trend line where two runs have the figure');
  },
);

t.test('the CLI prints the table and writes the page', async (t) => {
  const cli = join(import.meta.dirname, '..', 'bin', 'cloudcafe.js');
  const out = execFileSync(process.execPath, [cli, 'report', 'diff', A, B, '--reports', RUNS], {
    encoding: 'utf8',
  });
  t.match(out, /compute-kill\s+verdict\s+failed\s+passed\s+FIXED/);
  const json = JSON.parse(
    execFileSync(process.execPath, [cli, 'report', 'diff', A, B, '--reports', RUNS, '--json'], {
      encoding: 'utf8',
    }),
  ) as { rows: { experiment: string; figure: string; change: string }[] };
  t.ok(
    json.rows.some((r) => r.experiment === 'compute-kill' && r.figure === 'verdict' && r.change === 'FIXED'),
  );
  const page = join(mkdtempSync(join(tmpdir(), 'cloudcafe-trend-')), 'trend.html');
  execFileSync(process.execPath, [cli, 'report', 'trend', '--reports', RUNS, '--out', page]);
  t.match(readFileSync(page, 'utf8'), /Trend over 2 runs/);
});
