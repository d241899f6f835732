import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import Type from 'typebox';
import { createMetrics } from '../src/metrics/registry.js';
import { createStressHarness, defineStressScenario, STRESS_MAX_RUN_MS } from '../src/stress.js';
import { eventually, hashChain } from './support/fixtures.js';

const logger = pino({ level: 'silent' });

/** Runs until its signal fires, then returns what it did. */
const untilSignal = defineStressScenario({
  name: 'until-signal',
  description: 'Loops until told to stop',
  knobs: Type.Object({ durationMs: Type.Integer({ minimum: 10, maximum: 10_000, default: 10_000 }) }),
  durationMs: (knobs) => knobs.durationMs,
  run: async (_knobs, ctx) => {
    let loops = 0;
    while (!ctx.signal.aborted) {
      loops += 1;
      await sleep(5);
    }
    return { loops };
  },
});

t.test('a run completes with its result, progress and metrics', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  const harness = createStressHarness({ scenarios: [hashChain], logger, metrics });

  const started = harness.start('hash-chain', { rounds: 5 });
  t.match(started, { scenario: 'hash-chain', knobs: { rounds: 5, durationSeconds: 30 } });
  t.equal(harness.get('hash-chain', started.runId).state, 'running');
  t.match(
    (await metrics.prometheus()).body,
    'stress_run_active{scenario="hash-chain",service="order",platform="local"} 1',
  );

  const done = await eventually(() => {
    const run = harness.get('hash-chain', started.runId);
    return run.state === 'running' ? undefined : run;
  });
  t.match(done, {
    state: 'completed',
    progress: { fraction: 1, detail: '5 rounds' },
    result: { rounds: 5, digest: /^[0-9a-f]{64}$/ },
    finishedAt: String,
  });
  const { body } = await metrics.prometheus();
  t.match(
    body,
    'stress_runs_total{scenario="hash-chain",state="completed",service="order",platform="local"} 1',
  );
  t.match(body, 'stress_run_active{scenario="hash-chain",service="order",platform="local"} 0');
});

t.test('one run at a time per instance', async (t) => {
  const harness = createStressHarness({ scenarios: [untilSignal, hashChain], logger });
  const first = harness.start('until-signal', {});

  t.throws(() => harness.start('until-signal', {}), { code: 'CAFE_ERR_STRESS_RUNNING', statusCode: 409 });
  t.throws(
    () => harness.start('hash-chain', {}),
    { code: 'CAFE_ERR_STRESS_RUNNING' },
    'across scenarios too',
  );

  harness.cancel('until-signal', first.runId);
  await eventually(() => (harness.active() ? undefined : true));
  t.doesNotThrow(() => harness.start('hash-chain', { rounds: 1 }), 'the slot frees once the run stops');
});

t.test('bad knobs are refused naming the knob, and nothing starts', async (t) => {
  const harness = createStressHarness({ scenarios: [hashChain], logger });

  t.throws(() => harness.start('hash-chain', { rounds: 0 }), {
    code: 'CAFE_ERR_VALIDATION',
    message: 'knobs.rounds: must be an integer between 1 and 100000',
  });
  t.throws(() => harness.start('hash-chain', { rounds: 1, turbo: true }), {
    message: 'knobs.turbo: is not allowed',
  });
  t.throws(() => harness.start('nope', {}), { code: 'CAFE_ERR_NOT_FOUND' });
  t.equal(harness.active(), undefined);
});

t.test(
  'a scenario that wrote open knobs still refuses an unknown knob instead of running defaults',
  async (t) => {
    const open = defineStressScenario({
      name: 'open-knobs',
      description: 'knobs written without additionalProperties: false',
      knobs: Type.Object({ durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }) }),
      run: async () => ({}),
    });
    const harness = createStressHarness({ scenarios: [open], logger });

    t.throws(() => harness.start('open-knobs', { durationSec: 5 }), {
      code: 'CAFE_ERR_VALIDATION',
      statusCode: 400,
      message: 'knobs.durationSec: is not allowed',
    });
    t.equal(harness.active(), undefined, 'nothing started with the 60 s default');
  },
);

t.test('cancel aborts the signal; the run ends cancelled with what it did', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  const harness = createStressHarness({ scenarios: [untilSignal], logger, metrics });
  const { runId } = harness.start('until-signal', {});
  await sleep(30);

  harness.cancel('until-signal', runId);

  const run = await eventually(() => {
    const view = harness.get('until-signal', runId);
    return view.state === 'running' ? undefined : view;
  });
  t.equal(run.state, 'cancelled');
  t.ok((run.result as { loops: number }).loops > 0);
  t.throws(() => harness.cancel('until-signal', runId), { code: 'CAFE_ERR_STRESS_NOT_RUNNING' });
  t.match((await metrics.prometheus()).body, 'stress_runs_total{scenario="until-signal",state="cancelled"');
});

t.test('the signal fires at the run’s own duration and the run completes', async (t) => {
  const harness = createStressHarness({ scenarios: [untilSignal], logger });
  const started = Date.now();
  const { runId } = harness.start('until-signal', { durationMs: 100 });

  const run = await eventually(() => {
    const view = harness.get('until-signal', runId);
    return view.state === 'running' ? undefined : view;
  });

  t.equal(run.state, 'completed');
  // a lower bound only: a loaded machine can make the run late, never early
  t.ok(Date.now() - started >= 95, 'not before its duration');
});

t.test('a run that ignores its signal is marked failed after the grace period', async (t) => {
  let release: () => void = () => {};
  const stubborn = defineStressScenario({
    name: 'stubborn',
    description: 'Ignores its signal',
    knobs: Type.Object({}),
    maxDurationMs: 50,
    run: () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  });
  const harness = createStressHarness({ scenarios: [stubborn], logger, stopGraceMs: 50 });
  const { runId } = harness.start('stubborn', {});

  const run = await eventually(() => {
    const view = harness.get('stubborn', runId);
    return view.state === 'running' ? undefined : view;
  });
  t.match(run, { state: 'failed', error: /did not stop within 50 ms/ });
  t.throws(
    () => harness.start('stubborn', {}),
    { code: 'CAFE_ERR_STRESS_RUNNING' },
    'still holds the slot while working',
  );

  release();
  await eventually(() => (harness.active() ? undefined : true));
  t.equal(harness.get('stubborn', runId).state, 'failed');
});

t.test('a run that throws ends failed with the error', async (t) => {
  const broken = defineStressScenario({
    name: 'broken',
    description: 'Throws',
    knobs: Type.Object({}),
    run: async () => {
      throw new Error('out of cups');
    },
  });
  const harness = createStressHarness({ scenarios: [broken], logger });
  const { runId } = harness.start('broken', {});

  const run = await eventually(() => {
    const view = harness.get('broken', runId);
    return view.state === 'running' ? undefined : view;
  });

  t.match(run, { state: 'failed', error: 'out of cups' });
});

t.test('stop() cancels the active run and waits for it', async (t) => {
  const harness = createStressHarness({ scenarios: [untilSignal], logger });
  const { runId } = harness.start('until-signal', {});

  await harness.stop(AbortSignal.timeout(2000));

  t.equal(harness.get('until-signal', runId).state, 'cancelled');
  t.equal(harness.active(), undefined);
});

t.test('definitions are checked: bounded knobs, kebab-case, duration within the hard limit', async (t) => {
  const base = { description: 'x', run: async () => undefined };
  t.throws(
    () =>
      defineStressScenario({
        ...base,
        name: 'unbounded',
        knobs: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
      }),
    /knob n needs a minimum and a maximum/,
  );
  t.throws(
    () => defineStressScenario({ ...base, name: 'Morning Rush', knobs: Type.Object({}) }),
    /kebab-case/,
  );
  t.throws(
    () =>
      defineStressScenario({
        ...base,
        name: 'forever',
        knobs: Type.Object({}),
        maxDurationMs: STRESS_MAX_RUN_MS + 1,
      }),
    /maxDurationMs/,
  );
});

t.test('knobs asking for more than the bound get the bound', async (t) => {
  const capped = defineStressScenario({
    name: 'capped',
    description: 'Asks for an hour',
    knobs: Type.Object({}),
    maxDurationMs: 60_000,
    durationMs: () => 3_600_000,
    run: async () => undefined,
  });
  const harness = createStressHarness({ scenarios: [capped], logger });

  const { runId } = harness.start('capped', {});
  const run = harness.get('capped', runId);

  t.equal(Date.parse(run.deadline) - Date.parse(run.startedAt), 60_000);
});
