import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DocumentError, experimentFile, loadExperiment, loadGameDay } from '../src/experiment/load.js';
import type { Experiment } from '../src/experiment/schema.js';
import { Journal } from '../src/journal.js';
import {
  atDose,
  doses,
  findMargin,
  type MarginPlan,
  parseVary,
  planMargin,
  UNDER_FAULT,
} from '../src/margin.js';
import { summaryMarkdown } from '../src/report.js';
import { reportHtml } from '../src/report-html.js';
import { runExperiment } from '../src/runner.js';
import { experimentWith, type FakePlatform, fakePlatform } from './support/fake-platform.js';

// The breaking-point search against the fake platform: every dose is a real run of the
// lifecycle (inject, verify, probes, revert), with the fake's steady state failing from a
// threshold dose on. No lab; nothing here depends on wall time.

const reports = mkdtempSync(join(tmpdir(), 'cloudcafe-margin-'));

const latencyExperiment = (): Experiment =>
  experimentWith([
    {
      type: 'fault',
      name: 'slow link',
      fault: { type: 'latency', link: 'order-to-inventory', latencyMs: 300 },
      duration: '50ms',
    },
  ]);

/** Runs each dose on a fresh fake whose steady state under the fault fails at `breaksAt` and above. */
function searcher(breaksAt: number) {
  const platforms: FakePlatform[] = [];
  const journal = new Journal(`margin-${breaksAt}-${Date.now()}`, { platform: 'local' }, reports);
  const run = (experiment: Experiment) => {
    const step = experiment.method[0];
    const dose = step?.type === 'fault' && step.fault.type === 'latency' ? step.fault.latencyMs : Number.NaN;
    const platform = fakePlatform({ probes: { [`${UNDER_FAULT}healthy`]: { ok: dose < breaksAt } } });
    platforms.push(platform);
    return runExperiment(experiment, { platform, journal, signal: new AbortController().signal });
  };
  return { platforms, journal, run };
}

const plan50to1000 = (steps: number): MarginPlan =>
  planMargin(latencyExperiment(), parseVary('latencyMs=50..1000'), steps);

t.test('--vary is <field>=<from>..<to> with a rising range', async (t) => {
  t.same(parseVary('latencyMs=50..1000'), { field: 'latencyMs', from: 50, to: 1000 });
  t.throws(() => parseVary('latencyMs=50-1000'), /must read <fault-field>=<from>..<to>/);
  t.throws(() => parseVary('latencyMs=1000..50'), /the range must rise/);
  t.throws(() => parseVary('=1..2'), /must read/);
});

t.test('doses: evenly spaced, both ends included, whole numbers for an integer field', async (t) => {
  t.same(
    doses(50, 1000, 20, true),
    Array.from({ length: 20 }, (_, i) => 50 + 50 * i),
  );
  const ten = doses(50, 1000, 10, true);
  t.equal(ten.length, 10);
  t.equal(ten[0], 50);
  t.equal(ten.at(-1), 1000);
  t.ok(ten.every(Number.isInteger));
  t.same(doses(1, 3, 5, true), [1, 2, 3], 'no dose twice after rounding');
});

t.test('a request the experiment cannot take is refused, saying what it could take', async (t) => {
  const e = latencyExperiment();
  t.throws(
    () => planMargin(e, parseVary('delayMs=1..2')),
    /no fault of lifecycle has a field "delayMs".*latencyMs/,
  );
  t.throws(() => planMargin(e, parseVary('link=1..2')), /latency\.link is not numeric/);
  t.throws(() => planMargin(e, parseVary('latencyMs=0..100')), /at least 1/);
  t.throws(() => planMargin(e, parseVary('latencyMs=1..40000')), /at most 30000/);
  t.throws(() => planMargin(e, parseVary('latencyMs=1..100'), 1), /--steps must be a whole number from 2/);
  t.throws(() => planMargin(e, parseVary('latencyMs=1..100'), 10, 'nope'), /no fault step named "nope"/);
  const slow = e.method[0] as Extract<Experiment['method'][number], { type: 'fault' }>;
  const twice = experimentWith([slow, { ...slow, name: 'again' }]);
  t.throws(() => planMargin(twice, parseVary('latencyMs=1..100')), /several faults .* name one with --fault/);
  t.equal(planMargin(twice, parseVary('latencyMs=1..100'), 10, 'again').stepIndex, 1);
});

t.test(
  'a dose: the field set, the steady state probed under the fault, the document untouched',
  async (t) => {
    const plan = plan50to1000(10);
    const frozen = Object.freeze(plan.experiment);
    const at = atDose({ ...plan, experiment: frozen }, 457);
    t.equal(at.id, 'lifecycle-at-457', 'its own id, so its own k6 folder and acknowledgements');
    t.match(at.method[0], { type: 'fault', fault: { latencyMs: 457, link: 'order-to-inventory' } });
    t.match(at.method[1], { type: 'probe', probe: { name: `${UNDER_FAULT}healthy` } });
    t.equal(
      frozen.method[0]?.type === 'fault' &&
        frozen.method[0].fault.type === 'latency' &&
        frozen.method[0].fault.latencyMs,
      300,
    );
  },
);

t.test('the search stops at the first failing dose and names the last that held', async (t) => {
  const s = searcher(400);
  const margin = await findMargin(plan50to1000(20), {
    run: s.run,
    signal: new AbortController().signal,
    halted: () => undefined,
  });
  t.equal(margin.holdsUpTo, 350);
  t.equal(margin.failsAt, 400);
  t.equal(margin.runs.length, 8, 'one run per dose up to the first failure, none after');
  t.match(margin.failure.join(' '), /under the fault: healthy/);
  t.match(margin.sentence, /holds up to 350 ms latencyMs \(latency\) on order-to-inventory; fails at 400 ms/);
  for (const p of s.platforms) {
    const injected = p.calls.filter((c) => c.startsWith('inject')).length;
    t.equal(p.calls.filter((c) => c.startsWith('revert')).length, injected, 'every dose reverted');
  }
});

t.test('bounded: a system that never breaks gets exactly N runs and no breaking point', async (t) => {
  const s = searcher(Number.POSITIVE_INFINITY);
  const margin = await findMargin(plan50to1000(5), {
    run: s.run,
    signal: new AbortController().signal,
    halted: () => undefined,
  });
  t.equal(margin.runs.length, 5);
  t.equal(margin.holdsUpTo, 1000);
  t.equal(margin.failsAt, undefined);
  t.match(margin.sentence, /no breaking point found/);
});

t.test('failing at the lowest dose: no margin, and it says so', async (t) => {
  const margin = await findMargin(plan50to1000(5), {
    run: searcher(0).run,
    signal: new AbortController().signal,
    halted: () => undefined,
  });
  t.equal(margin.holdsUpTo, undefined);
  t.equal(margin.failsAt, 50);
  t.match(margin.sentence, /fails already at the lowest dose, 50 ms/);
});

t.test('a halt stops the search before the next dose; Ctrl-C drops the dose it cut short', async (t) => {
  let asked = 0;
  const halted = await findMargin(plan50to1000(10), {
    run: searcher(Number.POSITIVE_INFINITY).run,
    signal: new AbortController().signal,
    halted: () => (++asked > 2 ? '2026-12-02T04:00:00Z' : undefined),
  });
  t.equal(halted.runs.length, 2);
  t.match(halted.stopped, /^halted/);
  t.equal(halted.failsAt, undefined);
  t.match(halted.sentence, /search stopped .*held up to 156 ms/);

  const stop = new AbortController();
  const s = searcher(Number.POSITIVE_INFINITY);
  const interrupted = await findMargin(plan50to1000(10), {
    run: (e) => {
      if (s.platforms.length === 1) stop.abort('SIGINT'); // during the second dose
      return s.run(e);
    },
    signal: stop.signal,
    halted: () => undefined,
  });
  t.equal(interrupted.runs.length, 1, 'the interrupted dose is not counted as held');
  t.match(interrupted.stopped, /interrupted: SIGINT/);
  for (const p of s.platforms)
    t.equal(
      p.calls.filter((c) => c.startsWith('revert')).length,
      p.calls.filter((c) => c.startsWith('inject')).length,
      'every injected fault reverted',
    );
});

t.test('a game day carries margins, checked when it is loaded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-gameday-'));
  const gameday = (margins: string) => {
    const file = join(dir, `g${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      `id: margins\ntitle: margins\ndescription: d\nwarmup: 1s\ngap: 1s\nexperiments: [network-latency]\nmargins:\n${margins}`,
    );
    return file;
  };
  const { margins } = loadGameDay(
    gameday('  - { experiment: network-latency, vary: latencyMs=50..1000, steps: 4 }\n'),
  );
  t.equal(margins.length, 1);
  t.same(margins[0]?.doses, [50, 367, 683, 1000]);
  t.equal(margins[0]?.experiment.id, loadExperiment(experimentFile('network-latency')).id);
  const bad = t.throws(() => loadGameDay(gameday('  - { experiment: network-latency, vary: link=1..2 }\n')));
  t.ok(bad instanceof DocumentError);
  t.match((bad as Error).message, /\/margins\/0.*not numeric/s);
  t.throws(
    () => loadGameDay(gameday('  - { experiment: network-latency, vary: latencyMs=1..2, size: 3 }\n')),
    /size.*not a known field/s,
  );
});

t.test('the report shows a margin: its sentence, each dose run, and the doses never reached', async (t) => {
  const margin = await findMargin(plan50to1000(20), {
    run: searcher(400).run,
    signal: new AbortController().signal,
    halted: () => undefined,
  });
  const summary = {
    runId: 'r',
    name: 'margin-lifecycle',
    platform: 'local',
    startedAt: '2026-12-02T04:00:00.000Z',
    finishedAt: '2026-12-02T04:05:00.000Z',
    results: [],
    margins: [margin],
  };
  const html = reportHtml(summary, [], []);
  t.match(html, /<h2>Margins \(breaking points\)<\/h2>/);
  t.match(html, /holds up to 350 ms latencyMs/);
  t.match(html, /<tr class="failed"><td>400<\/td><td>failed<\/td>/);
  t.match(html, /not run \(the search stopped first\): 450, 500/);
  t.match(html, /class="verdict pass"/, 'a finished search is not a failed run');
  t.match(
    summaryMarkdown(summary),
    /\| 400 \| failed \| deviation during the method: under the fault: healthy/,
  );
});
