import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { interruptHandler } from '../src/commands/experiment.js';
import { unreverted } from '../src/commands/revert.js';
import { Journal } from '../src/journal.js';
import { type ExperimentResult, runExperiment } from '../src/runner.js';
import {
  abortOn,
  experimentWith,
  type FakePlatform,
  type FakeScript,
  fakePlatform,
  faultStep,
  Gate,
  probeStep,
} from './support/fake-platform.js';

// Unit tests of the experiment lifecycle (hypothesis → method → rollback → recovery → audit)
// against a fake platform: no lab, no cluster. Each abort test holds one step open with a gate,
// aborts while it is under way, and checks the one thing that matters: every fault that was
// injected is reverted, and the journal says so truthfully. No assertion is about wall time.

const reports = mkdtempSync(join(tmpdir(), 'cloudcafe-lifecycle-'));
let runs = 0;

interface Started {
  readonly platform: FakePlatform;
  readonly journal: Journal;
  readonly stop: AbortController;
  readonly done: Promise<ExperimentResult>;
}

function start(experiment: ReturnType<typeof experimentWith>, script: FakeScript = {}): Started {
  const platform = fakePlatform(script);
  const journal = new Journal(`run-${++runs}`, { platform: 'local' }, reports);
  const stop = new AbortController();
  const done = runExperiment(experiment, { platform, journal, signal: stop.signal });
  return { platform, journal, stop, done };
}

const types = (journal: Journal) => journal.events.map((e) => e.type);
const owed = (journal: Journal) => unreverted({ runId: journal.runId, events: journal.events });

t.test('a clean run: inject, verify, revert at its duration, hypothesis after, passed', async (t) => {
  const run = start(experimentWith([faultStep('cut'), { type: 'wait', duration: '100ms' }]));
  const result = await run.done;
  t.equal(result.verdict, 'passed', result.reasons.join('; '));
  const tag = `cloudcafe-${run.journal.runId}-0`;
  t.same(run.platform.calls, [
    'probe healthy',
    `inject ${tag}`,
    `verify ${tag}`,
    `revert ${tag}`,
    'probe healthy',
  ]);
  const reverted = run.journal.events.findIndex((e) => e.type === 'fault.reverted');
  t.ok(
    reverted < types(run.journal).indexOf('rollback.started'),
    'reverted by its own timer, before the rollback',
  );
  t.equal(result.faults[0]?.tag, tag);
  t.same(owed(run.journal), []);
});

t.test('Ctrl-C during the hypothesis before: no fault is injected, the run ends at once', async (t) => {
  const gate = new Gate();
  const run = start(experimentWith([faultStep('cut')]), { probes: { healthy: { gate } } });
  await gate.reached;
  run.stop.abort('SIGINT');
  const result = await run.done;
  gate.open();
  t.equal(result.verdict, 'aborted');
  t.match(result.reasons[0], /interrupted: SIGINT/);
  t.notOk(
    run.platform.calls.some((c) => c.startsWith('inject')),
    'nothing injected',
  );
});

t.test('Ctrl-C while an inject is under way: the fault that lands late is still reverted', async (t) => {
  const injectGate = new Gate();
  const run = start(experimentWith([faultStep('cut', '60s')]), { faults: { 0: { injectGate } } });
  await injectGate.reached;
  run.stop.abort('SIGINT');
  setTimeout(() => injectGate.open(), 20); // the platform answers after the abort
  const result = await run.done;
  t.equal(result.verdict, 'aborted');
  t.ok(run.platform.calls.includes(`revert cloudcafe-${run.journal.runId}-0`), 'reverted');
  t.same(owed(run.journal), [], 'nothing owed');
});

t.test('Ctrl-C during verify, during a probe, during a wait: every injected fault reverted', async (t) => {
  for (const where of ['verify', 'probe', 'wait'] as const) {
    const gate = new Gate();
    const method =
      where === 'wait'
        ? [faultStep('cut', '60s'), { type: 'wait' as const, duration: '60s' }]
        : [faultStep('cut', '60s'), probeStep('during')];
    const script: FakeScript =
      where === 'verify' ? { faults: { 0: { verifyGate: gate } } } : { probes: { during: { gate } } };
    const run = start(experimentWith(method), script);
    if (where === 'wait') {
      await new Promise<void>((resolve) =>
        run.journal.onEvent((e) => {
          if (e.type === 'fault.injected') resolve();
        }),
      );
    } else await gate.reached;
    run.stop.abort('SIGTERM');
    const result = await run.done;
    gate.open();
    t.equal(result.verdict, 'aborted', where);
    t.ok(run.platform.calls.includes(`revert cloudcafe-${run.journal.runId}-0`), `${where}: reverted`);
    t.same(owed(run.journal), [], `${where}: nothing owed`);
    t.notOk(types(run.journal).includes('hypothesis.after'), `${where}: no recovery wait after Ctrl-C`);
  }
});

t.test('an abort condition that fails aborts the method and rolls back', async (t) => {
  const run = start(
    experimentWith([faultStep('cut', '60s'), { type: 'wait', duration: '60s' }], {
      abort: [abortOn('guard')],
    }),
    { probes: { guard: { ok: false } } },
  );
  const result = await run.done;
  t.equal(result.verdict, 'aborted');
  t.equal(result.abort?.condition, 'guard');
  t.ok(
    run.platform.calls.some((c) => c.startsWith('revert')),
    'reverted',
  );
  t.ok(types(run.journal).includes('hypothesis.after'), 'recovery is still judged');
});

t.test('a revert that fails or cannot confirm is journalled as failed and stays owed', async (t) => {
  for (const revert of ['throws', 'unverified'] as const) {
    const run = start(experimentWith([faultStep('cut')]), { faults: { 0: { revert } } });
    const result = await run.done;
    t.equal(result.verdict, 'failed', revert);
    t.match(result.reasons.join('; '), /not cleanly reverted/, revert);
    t.notOk(types(run.journal).includes('fault.reverted'), `${revert}: never journalled as reverted`);
    t.ok(types(run.journal).includes('fault.revert-failed'), `${revert}: journalled as failed`);
    t.same(
      owed(run.journal).map((f) => f.tag),
      [`cloudcafe-${run.journal.runId}-0`],
      `${revert}: \`experiment revert\` still finds it`,
    );
  }
});

t.test('two steps with the same name are two faults, told apart by their tags', async (t) => {
  const run = start(experimentWith([faultStep('cut'), faultStep('cut')]), {
    faults: { 0: { revert: 'throws' } },
  });
  const result = await run.done;
  t.equal(result.faults.length, 2);
  t.same(
    owed(run.journal).map((f) => f.tag),
    [`cloudcafe-${run.journal.runId}-0`],
    'only the first, whose revert failed, is owed',
  );
});

t.test(
  'an inject that fails ends the run in error and leaves the fault owed (it may have half acted)',
  async (t) => {
    const run = start(experimentWith([faultStep('cut')]), { faults: { 0: { injectError: 'no such link' } } });
    const result = await run.done;
    t.equal(result.verdict, 'error');
    t.match(result.reasons.join('; '), /no such link/);
    t.ok(types(run.journal).includes('fault.inject-failed'));
    t.equal(owed(run.journal).length, 1);
  },
);

t.test('a steady state that does not return fails the run after the rollback', async (t) => {
  const run = start(experimentWith([faultStep('cut')], { recovery: { within: '1s' } }), {
    probes: { healthy: { results: [true, false] } },
  });
  const result = await run.done;
  t.equal(result.verdict, 'failed');
  t.match(result.reasons.join('; '), /did not return within 1s/);
  t.equal(result.recoveryMs, undefined);
});

t.test('Ctrl-C: the first aborts, the second only says the rollback runs, the third exits', async (t) => {
  const controller = new AbortController();
  const lines: string[] = [];
  const exits: number[] = [];
  const onSignal = interruptHandler(controller, 'run-x', {
    write: (l) => lines.push(l),
    exit: (c) => exits.push(c),
  });
  onSignal('SIGINT');
  t.ok(controller.signal.aborted, 'the first aborts the run');
  onSignal('SIGINT');
  t.same(exits, [], 'the second does not exit: the rollback goes on');
  t.match(lines[1], /still rolling back/);
  onSignal('SIGINT');
  t.same(exits, [130], 'the third exits');
  t.match(lines[2], /experiment revert run-x/);
});
