import { randomUUID } from 'node:crypto';
import { setImmediate as immediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import Type, { type Static, type TObject } from 'typebox';
import { CafeError } from './errors.js';
import type { Metrics } from './metrics/registry.js';
import { parseWithSchema, SchemaValidationError } from './validation.js';

/** No stress run lasts longer than this, whatever its scenario or knobs say. */
export const STRESS_MAX_RUN_MS = 15 * 60_000;
/** A scenario's bound when it declares none. */
export const STRESS_DEFAULT_MAX_RUN_MS = 5 * 60_000;

/** What a scenario's `run` receives besides its knobs. */
export interface StressContext {
  /** Aborts on cancel, on shutdown and at the run's deadline: stop soon after it fires. */
  signal: AbortSignal;
  /** When the signal fires by itself. */
  deadline: Date;
  /** Reports progress, 0…1, with an optional note (shown by `GET …/runs/:runId`). */
  progress(fraction: number, detail?: string): void;
  /** Lets timers, I/O and other requests (health, cancel) run between chunks of CPU work. */
  yieldToEventLoop(): Promise<void>;
  /** A logger carrying `scenario` and `runId`. */
  log: Logger;
}

/** What a service writes to define its stress scenario. */
export interface StressScenarioDefinition<K extends TObject> {
  /** kebab-case; the route is `POST /api/<svc>/stress/<name>`. */
  name: string;
  description: string;
  /** The knobs: a TypeBox object whose numeric knobs all have a minimum and a maximum. */
  knobs: K;
  /** This scenario's own bound (default 5 min, at most {@link STRESS_MAX_RUN_MS}). */
  maxDurationMs?: number;
  /** How long a run with these knobs should last; the signal fires then (capped by maxDurationMs). */
  durationMs?: (knobs: Static<K>) => number;
  /** The work. Return a JSON-serialisable result; it is shown when the run completes. */
  run: (knobs: Static<K>, ctx: StressContext) => Promise<unknown>;
}

/** A defined scenario, checked and with its bounds resolved. */
export interface StressScenario<K extends TObject = TObject> extends StressScenarioDefinition<K> {
  maxDurationMs: number;
}

/**
 * Defines a stress scenario. Checks at definition time that the name is kebab-case, that
 * every numeric knob is bounded and that the duration bound is within the kit's hard limit.
 *
 * @example
 * ```ts
 * import Type from 'typebox';
 * import { defineStressScenario } from '@cloudcafe/kit';
 *
 * export const morningRush = defineStressScenario({
 *   name: 'morning-rush',
 *   description: 'Corporate bulk orders at opening: pricing, tax, serialisation',
 *   knobs: Type.Object({
 *     durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
 *     concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
 *   }),
 *   durationMs: (knobs) => knobs.durationSeconds * 1000,
 *   run: async (knobs, ctx) => {
 *     let orders = 0;
 *     while (!ctx.signal.aborted) {
 *       orders += priceBulkOrder();
 *       await ctx.yieldToEventLoop();
 *     }
 *     return { orders };
 *   },
 * });
 * ```
 */
export function defineStressScenario<K extends TObject>(
  definition: StressScenarioDefinition<K>,
): StressScenario<K> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(definition.name)) {
    throw new Error(`stress scenario name ${definition.name} must be kebab-case`);
  }
  for (const [knob, schema] of Object.entries(definition.knobs.properties)) {
    const shape = schema as { type?: unknown; minimum?: unknown; maximum?: unknown };
    if (
      (shape.type === 'integer' || shape.type === 'number') &&
      (shape.minimum === undefined || shape.maximum === undefined)
    ) {
      throw new Error(`stress scenario ${definition.name}: knob ${knob} needs a minimum and a maximum`);
    }
  }
  const maxDurationMs = definition.maxDurationMs ?? STRESS_DEFAULT_MAX_RUN_MS;
  if (!(maxDurationMs > 0 && maxDurationMs <= STRESS_MAX_RUN_MS)) {
    throw new Error(
      `stress scenario ${definition.name}: maxDurationMs must be within 1…${STRESS_MAX_RUN_MS}`,
    );
  }
  // A typo in a knob must never run with the default instead (a 5 s stress turning into a
  // 60 s one): the knobs are closed whatever the scenario wrote, so an unknown key is a 400
  // naming it (`knobs.intensity: is not allowed`).
  const { type: _type, required: _required, properties, ...options } = definition.knobs;
  const knobs = Type.Object(properties, { ...options, additionalProperties: false }) as unknown as K;
  return { ...definition, knobs, maxDurationMs };
}

/** The states of a run. */
export const RUN_STATES = ['running', 'completed', 'cancelled', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** A run as `GET /api/<svc>/stress/<name>/runs/:runId` shows it. */
export const StressRunView = Type.Object({
  runId: Type.String(),
  scenario: Type.String(),
  state: Type.Enum(RUN_STATES),
  knobs: Type.Record(Type.String(), Type.Unknown()),
  progress: Type.Object({
    fraction: Type.Number({ minimum: 0, maximum: 1 }),
    detail: Type.Optional(Type.String()),
  }),
  startedAt: Type.String({ format: 'date-time' }),
  deadline: Type.String({ format: 'date-time' }),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.String()),
});
export type StressRunView = Static<typeof StressRunView>;

/** The 202 answer to a stress POST. */
export const StressStarted = Type.Object({
  runId: Type.String(),
  scenario: Type.String(),
  knobs: Type.Record(Type.String(), Type.Unknown()),
});
export type StressStarted = Static<typeof StressStarted>;

/** Runs the scenarios of one instance, one run at a time. */
export interface StressHarness {
  readonly scenarios: readonly StressScenario[];
  /** Validates the knobs (defaults applied) and starts a run; 409 if one is active. */
  start(scenario: string, knobs: unknown): StressStarted;
  /** A run of the scenario (the last 20 are kept). */
  get(scenario: string, runId: string): StressRunView;
  /** Aborts a running run; it turns `cancelled` once its work has stopped. */
  cancel(scenario: string, runId: string): StressRunView;
  /** The run holding the slot, if any. */
  active(): StressRunView | undefined;
  /** Cancels the active run and waits for it to stop, at most until `signal` fires. */
  stop(signal?: AbortSignal): Promise<void>;
}

/** Options for {@link createStressHarness}. */
export interface CreateStressHarnessOptions {
  scenarios: readonly StressScenario[];
  logger: Logger;
  metrics?: Metrics;
  /** After its signal fires, how long a run may take to stop before it is marked failed (default 5 s). */
  stopGraceMs?: number;
}

interface RunRecord {
  view: StressRunView;
  controller: AbortController;
  cancelled: boolean;
  settled: Promise<void>;
}

const KEEP_RUNS = 20;

/**
 * Creates the stress harness of one instance: knob validation, the one-run slot, the
 * deadline (the scenario's duration, capped by its bound and {@link STRESS_MAX_RUN_MS}),
 * cancel, progress, and the stress_runs_total / stress_run_active metrics. The HTTP routes
 * (Fastify and Express) are thin adapters over it.
 *
 * @example
 * ```ts
 * const harness = createStressHarness({ scenarios: [morningRush], logger, metrics });
 * const { runId } = harness.start('morning-rush', { durationSeconds: 30 });
 * harness.get('morning-rush', runId).state; // 'running'
 * ```
 */
export function createStressHarness(options: CreateStressHarnessOptions): StressHarness {
  const byName = new Map(options.scenarios.map((scenario) => [scenario.name, scenario]));
  if (byName.size !== options.scenarios.length) throw new Error('stress scenario names must be unique');
  const runs = new Map<string, RunRecord>();
  const stopGraceMs = options.stopGraceMs ?? 5000;
  let slot: RunRecord | undefined;

  const scenarioNamed = (name: string): StressScenario => {
    const scenario = byName.get(name);
    if (!scenario) throw new CafeError('CAFE_ERR_NOT_FOUND', `no stress scenario named ${name}`);
    return scenario;
  };
  const runOf = (scenario: string, runId: string): RunRecord => {
    scenarioNamed(scenario);
    const record = runs.get(runId);
    if (!record || record.view.scenario !== scenario) {
      throw new CafeError('CAFE_ERR_NOT_FOUND', `no run ${runId} of stress scenario ${scenario}`);
    }
    return record;
  };
  const forget = () => {
    const finished = [...runs.values()].filter((record) => record.view.state !== 'running');
    for (const record of finished.slice(0, Math.max(0, runs.size - KEEP_RUNS)))
      runs.delete(record.view.runId);
  };

  function launch(scenario: StressScenario, knobs: Record<string, unknown>): RunRecord {
    const runId = randomUUID();
    const startedAt = new Date();
    const wanted = scenario.durationMs?.(knobs) ?? scenario.maxDurationMs;
    const budgetMs = Math.min(Math.max(wanted, 0), scenario.maxDurationMs, STRESS_MAX_RUN_MS);
    const deadline = new Date(startedAt.getTime() + budgetMs);
    const controller = new AbortController();
    const log = options.logger.child({ scenario: scenario.name, runId });
    const view: StressRunView = {
      runId,
      scenario: scenario.name,
      state: 'running',
      knobs,
      progress: { fraction: 0 },
      startedAt: startedAt.toISOString(),
      deadline: deadline.toISOString(),
    };
    const finish = (state: Exclude<RunState, 'running'>, outcome: { result?: unknown; error?: string }) => {
      if (view.state !== 'running') return;
      view.state = state;
      view.finishedAt = new Date().toISOString();
      if (outcome.result !== undefined) view.result = outcome.result;
      if (outcome.error !== undefined) view.error = outcome.error;
      if (state === 'completed') view.progress = { ...view.progress, fraction: 1 };
      options.metrics?.inc('stress_runs_total', { scenario: scenario.name, state });
      log.info({ state, durationMs: Date.now() - startedAt.getTime() }, `stress run ${state}`);
    };

    let graceTimer: NodeJS.Timeout | undefined;
    controller.signal.addEventListener('abort', () => {
      graceTimer = setTimeout(
        () => finish('failed', { error: `did not stop within ${stopGraceMs} ms of its signal` }),
        stopGraceMs,
      );
      graceTimer.unref();
    });
    const deadlineTimer = setTimeout(
      () => controller.abort(new Error(`deadline of ${budgetMs} ms reached`)),
      budgetMs,
    );
    deadlineTimer.unref();

    const context: StressContext = {
      signal: controller.signal,
      deadline,
      log,
      progress(fraction, detail) {
        const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
        view.progress = detail === undefined ? { fraction: clamped } : { fraction: clamped, detail };
      },
      yieldToEventLoop: () => immediate(),
    };

    const record: RunRecord = { view, controller, cancelled: false, settled: Promise.resolve() };
    options.metrics?.set('stress_run_active', { scenario: scenario.name }, 1);
    log.info({ knobs, deadline }, 'stress run started');
    record.settled = Promise.resolve()
      // The knobs were validated against this scenario's own schema in start().
      .then(() => scenario.run(knobs as Static<typeof scenario.knobs>, context))
      .then(
        (result) => finish(record.cancelled ? 'cancelled' : 'completed', { result }),
        (err: unknown) =>
          finish(record.cancelled ? 'cancelled' : 'failed', {
            error: err instanceof Error ? err.message : String(err),
          }),
      )
      .finally(() => {
        clearTimeout(deadlineTimer);
        clearTimeout(graceTimer);
        options.metrics?.set('stress_run_active', { scenario: scenario.name }, 0);
        if (slot === record) slot = undefined;
        forget();
      });
    return record;
  }

  return {
    scenarios: options.scenarios,
    start(name, rawKnobs) {
      const scenario = scenarioNamed(name);
      let knobs: Record<string, unknown>;
      try {
        knobs = parseWithSchema(scenario.knobs, rawKnobs ?? {}, { part: 'knobs' });
      } catch (err) {
        if (err instanceof SchemaValidationError) throw new CafeError('CAFE_ERR_VALIDATION', err.message);
        throw err;
      }
      if (slot) {
        throw new CafeError(
          'CAFE_ERR_STRESS_RUNNING',
          `stress run ${slot.view.runId} (${slot.view.scenario}) is still active on this instance`,
        );
      }
      const record = launch(scenario, knobs);
      slot = record;
      runs.set(record.view.runId, record);
      return { runId: record.view.runId, scenario: scenario.name, knobs };
    },
    get(scenario, runId) {
      return runOf(scenario, runId).view;
    },
    cancel(scenario, runId) {
      const record = runOf(scenario, runId);
      if (record.view.state !== 'running') {
        throw new CafeError(
          'CAFE_ERR_STRESS_NOT_RUNNING',
          `stress run ${runId} is already ${record.view.state}`,
        );
      }
      record.cancelled = true;
      record.controller.abort(new Error('cancelled'));
      return record.view;
    },
    active() {
      return slot?.view;
    },
    async stop(signal) {
      const record = slot;
      if (!record) return;
      record.cancelled = true;
      record.controller.abort(new Error('shutting down'));
      if (!signal) return record.settled;
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        void record.settled.then(resolve);
      });
    },
  };
}
