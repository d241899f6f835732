import { join } from 'node:path';
import { audit, type InvariantResult } from './audit.js';
import { driverFor } from './drivers/index.js';
import type { ActiveFault, DriverOptions, Effect } from './drivers/types.js';
import { durationMs, type Experiment, faultTarget, type Platform, type Probe } from './experiment/schema.js';
import type { Journal } from './journal.js';
import { K6LiveApi, type K6Run, loadEnvironment, scenarioScript, startK6 } from './k6/index.js';
import { type ProbeContext, type ProbeResult, runProbe, runProbeOnce } from './probes.js';

/**
 * The experiment lifecycle: steady-state hypothesis before → method (faults and probes, with
 * abort conditions checked every second) → rollbacks, always → recovery wait → hypothesis
 * after. Whatever happens — an abort, an error, Ctrl-C through `signal` — every injected fault
 * is reverted, and the journal holds both the injection and the revert.
 */

export type Verdict = 'passed' | 'failed' | 'aborted' | 'error';

export interface FaultRecord {
  readonly name: string;
  readonly type: string;
  readonly target: string;
  readonly injectedAt: string;
  readonly revertedAt: string | undefined;
  readonly effect: Effect | undefined;
  readonly revert: Effect | undefined;
}

export interface ExperimentResult {
  readonly id: string;
  readonly title: string;
  readonly verdict: Verdict;
  /** Why it did not pass, in one sentence per reason. */
  readonly reasons: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly before: readonly ProbeResult[];
  readonly during: readonly ProbeResult[];
  readonly after: readonly ProbeResult[];
  readonly faults: readonly FaultRecord[];
  readonly abort:
    | { readonly condition: string; readonly seenAt: string; readonly reactionMs: number }
    | undefined;
  /** From the rollback until every steady-state probe passed again; undefined if it never did. */
  readonly recoveryMs: number | undefined;
  /** The business invariants the experiment named, audited after the hypothesis. */
  readonly invariants: readonly InvariantResult[];
}

export interface RunOptions {
  readonly platform: Platform;
  readonly journal: Journal;
  /** Aborted by Ctrl-C / SIGTERM: the run stops and rolls back. */
  readonly signal: AbortSignal;
  readonly dryRun?: boolean;
  /** Context, namespace, role ARN… for the kubernetes and aws drivers. */
  readonly driverOptions?: DriverOptions;
}

class Aborted extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted(String(signal.reason)));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted(String(signal.reason)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function hypothesis(probes: readonly Probe[], context: ProbeContext): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const probe of probes) results.push(await runProbe(probe, context));
  return results;
}

/** What the run would do, without touching anything. */
export function plan(
  experiment: Experiment,
  platform: Platform,
  driverOptions: DriverOptions = {},
): string[] {
  const driver = driverFor(platform, driverOptions);
  let faultIndex = 0;
  const lines = [`${experiment.id} on ${platform}: ${experiment.title}`];
  lines.push(`  1. hypothesis before: ${experiment.steadyState.probes.map((p) => p.name).join('; ')}`);
  experiment.method.forEach((step, i) => {
    const n = `  2.${i + 1}`;
    if (step.type === 'fault')
      lines.push(
        `${n} inject ${step.fault.type} on ${faultTarget(step.fault)} for ${step.duration}, verify its effect`,
      );
    if (step.type === 'fault' && driver.plan) {
      // the driver's exact calls, with the tag a run would give the fault
      const tag = `cloudcafe-<run-id>-${faultIndex++}`;
      for (const line of driver.plan(step.fault, tag, durationMs(step.duration)))
        lines.push(`        ${line}`);
    }
    if (step.type === 'probe') lines.push(`${n} probe ${step.probe.name}`);
    if (step.type === 'wait') lines.push(`${n} wait ${step.duration}`);
  });
  for (const a of experiment.abort ?? [])
    lines.push(`     abort if "${a.name}" fails for ${a.for} (checked every second)`);
  lines.push('  3. roll back every fault (always)');
  lines.push(`  4. wait for steady state, at most ${experiment.recovery.within}`);
  lines.push('  5. hypothesis after');
  return lines;
}

export async function runExperiment(experiment: Experiment, options: RunOptions): Promise<ExperimentResult> {
  const { journal } = options;
  const log = (type: string, detail: Record<string, unknown> = {}) =>
    journal.record(type, { experiment: experiment.id, ...detail });
  log('experiment.started', { title: experiment.title, platform: options.platform });
  const load = experiment.load ? await startLoad(experiment, journal, options.signal) : undefined;
  try {
    return await lifecycle(experiment, options, load);
  } finally {
    // a run that ends any way at all stops its load (stop is idempotent once k6 has exited)
    load?.run.stop();
  }
}

interface BackgroundLoad {
  readonly run: K6Run;
  readonly scenario: string;
}

/** How long the method, rollback and recovery can take: what the background load must cover. */
function experimentSpanSeconds(experiment: Experiment): number {
  const steps = experiment.method.reduce((sum, s) => sum + ('duration' in s ? durationMs(s.duration) : 0), 0);
  return Math.min(900, Math.ceil((steps + durationMs(experiment.recovery.within)) / 1000) + 60);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await check())) await new Promise((r) => setTimeout(r, 250));
}

async function startLoad(
  experiment: Experiment,
  journal: Journal,
  signal: AbortSignal,
): Promise<BackgroundLoad> {
  const spec = experiment.load as NonNullable<Experiment['load']>;
  const run = startK6({
    script: scenarioScript(spec.scenario),
    outDir: join(journal.dir, `k6-${experiment.id}`),
    scriptEnv: loadEnvironment({
      // unique per run within the 24 characters the scripts keep: it prefixes idempotency keys,
      // and a key reused by a later run with another basket is (rightly) a 409
      runTag: `${experiment.id.slice(0, 14)}-${Date.now().toString(36)}`,
      knobs: {
        DURATION: `${experimentSpanSeconds(experiment)}s`,
        ...(spec.rate ? { RATE: spec.rate } : {}),
        ...spec.knobs,
      },
    }),
    // k6's own progress would drown the run's progress view; its files keep everything
    onOutput: () => {},
    signal,
    runId: journal.runId,
    scenario: spec.scenario,
  });
  journal.record('load.started', {
    experiment: experiment.id,
    scenario: spec.scenario,
    rate: spec.rate,
    pid: run.pid,
  });
  // k6 opens its REST API once the script's setup() has checked the lab; the probes read it,
  // so the hypothesis waits for it. A k6 that exits first (an unhealthy lab) ends the wait.
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  const live = new K6LiveApi(run.apiAddress);
  await waitUntil(
    async () =>
      exited ||
      (await live.status().then(
        () => true,
        () => false,
      )),
    90_000,
  );
  if (exited) {
    throw new Error(
      `the background load (k6 ${spec.scenario}) ended before it started: see ${join(journal.dir, `k6-${experiment.id}`)}`,
    );
  }
  // a few seconds of load before the hypothesis, so steady state is judged under load
  await new Promise((r) => setTimeout(r, 3000));
  return { run, scenario: spec.scenario };
}

async function lifecycle(
  experiment: Experiment,
  options: RunOptions,
  load: BackgroundLoad | undefined,
): Promise<ExperimentResult> {
  const { journal } = options;
  const driver = driverFor(options.platform, options.driverOptions);
  const startedAt = new Date().toISOString();
  const reasons: string[] = [];
  const during: ProbeResult[] = [];
  const faults = new Map<
    ActiveFault,
    { name: string; injectedAt: string; effect?: Effect; revertedAt?: string; revert?: Effect }
  >();
  const log = (type: string, detail: Record<string, unknown> = {}) =>
    journal.record(type, { experiment: experiment.id, ...detail });
  let abort: ExperimentResult['abort'];
  let recoveryMs: number | undefined;
  let after: ProbeResult[] = [];
  let verdict: Verdict = 'passed';
  // probes read the background load's live figures through k6's REST API
  const probeContext: ProbeContext = {
    ...(load ? { k6Api: load.run.apiAddress } : {}),
    platform: options.platform,
  };
  const before = await hypothesis(experiment.steadyState.probes, probeContext);
  log('hypothesis.before', { results: before });
  if (before.some((r) => !r.ok)) {
    reasons.push(
      `steady state not met before: ${before
        .filter((r) => !r.ok)
        .map((r) => `${r.name} (${r.observed})`)
        .join(', ')}`,
    );
    log('experiment.finished', { verdict: 'failed', reasons });
    return {
      id: experiment.id,
      title: experiment.title,
      verdict: 'failed',
      reasons,
      startedAt,
      finishedAt: new Date().toISOString(),
      before,
      during,
      after,
      faults: [],
      abort,
      recoveryMs,
      invariants: [],
    };
  }

  // The method runs under its own signal: Ctrl-C or an abort condition ends it.
  const method = new AbortController();
  const onOuterAbort = () => method.abort(`interrupted: ${String(options.signal.reason)}`);
  options.signal.addEventListener('abort', onOuterAbort, { once: true });
  const abortSeen: { at?: number; condition?: string } = {};
  const monitor = startAbortMonitor(experiment, method, abortSeen, probeContext, (r) =>
    log('abort.check', { result: r }),
  );
  const timers: NodeJS.Timeout[] = [];
  let rollbackStartedAt: number | undefined;

  const revertOne = async (active: ActiveFault) => {
    const record = faults.get(active);
    if (!record || record.revertedAt) return;
    record.revertedAt = new Date().toISOString();
    record.revert = await active
      .revert()
      .catch((e: Error) => ({ verified: false, detail: `revert failed: ${e.message}` }));
    log('fault.reverted', { fault: record.name, effect: record.revert });
  };

  try {
    let faultIndex = 0;
    for (const step of experiment.method) {
      if (method.signal.aborted) throw new Aborted(String(method.signal.reason));
      if (step.type === 'wait') await sleep(durationMs(step.duration), method.signal);
      if (step.type === 'probe') {
        const result = await runProbe(step.probe, probeContext);
        during.push(result);
        log('probe', { result });
        if (!result.ok) reasons.push(`deviation during the method: ${result.name} (${result.observed})`);
      }
      if (step.type === 'fault') {
        const tag = `cloudcafe-${journal.runId}-${faultIndex++}`;
        // journalled before it acts, so a run that dies here still says what to undo
        log('fault.injecting', { fault: step.name, spec: step.fault, tag, duration: step.duration });
        const active = await driver.inject(step.fault, tag, {
          durationMs: durationMs(step.duration),
          revertInfo: (revert) =>
            log('fault.revert-info', { fault: step.name, tag, platform: options.platform, revert }),
          record: (type, detail) => log(type, { fault: step.name, ...detail }),
        });
        const record: {
          name: string;
          injectedAt: string;
          effect?: Effect;
          revertedAt?: string;
          revert?: Effect;
        } = {
          name: step.name,
          injectedAt: new Date().toISOString(),
        };
        faults.set(active, record);
        record.effect = await active.verify();
        log('fault.injected', { fault: step.name, revertPlan: active.revertPlan, effect: record.effect });
        if (!record.effect.verified)
          reasons.push(`fault "${step.name}" had no visible effect: ${record.effect.detail}`);
        timers.push(setTimeout(() => void revertOne(active), durationMs(step.duration)));
      }
    }
    // hold until the longest fault has run its course
    const ends = [...faults.values()].map((r) => {
      const step = experiment.method.find((s) => s.type === 'fault' && s.name === r.name);
      return Date.parse(r.injectedAt) + (step?.type === 'fault' ? durationMs(step.duration) : 0) - Date.now();
    });
    await sleep(Math.max(0, ...ends), method.signal);
  } catch (error) {
    if (error instanceof Aborted) {
      verdict = 'aborted';
      reasons.push(error.reason);
    } else {
      verdict = 'error';
      reasons.push(`error: ${(error as Error).message}`);
      log('experiment.error', { error: (error as Error).message });
    }
  } finally {
    rollbackStartedAt = Date.now();
    monitor.stop();
    for (const t of timers) clearTimeout(t);
    options.signal.removeEventListener('abort', onOuterAbort);
    log('rollback.started', { faults: faults.size });
    for (const active of faults.keys()) await revertOne(active);
    log('rollback.finished');
  }

  if (abortSeen.at !== undefined && abortSeen.condition) {
    abort = {
      condition: abortSeen.condition,
      seenAt: new Date(abortSeen.at).toISOString(),
      reactionMs: Math.max(0, rollbackStartedAt - abortSeen.at),
    };
    log('abort', abort);
  }

  if (!options.signal.aborted) {
    // Recovery: how long until every steady-state probe passes again, bounded.
    const deadline = rollbackStartedAt + durationMs(experiment.recovery.within);
    while (Date.now() < deadline) {
      after = await hypothesis(experiment.steadyState.probes, probeContext);
      if (after.every((r) => r.ok)) {
        recoveryMs = Date.now() - rollbackStartedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    log('hypothesis.after', { results: after, recoveryMs });
    if (recoveryMs === undefined) {
      reasons.push(`steady state did not return within ${experiment.recovery.within}`);
    }
  }

  for (const r of faults.values()) {
    if (r.revert && !r.revert.verified)
      reasons.push(`fault "${r.name}" was not cleanly reverted: ${r.revert.detail}`);
  }

  // The load stops before the audit: the audit judges what the load was promised.
  let acknowledgements: string | undefined;
  if (load) {
    load.run.stop();
    const k6 = await load.run.done;
    log('load.finished', {
      scenario: load.scenario,
      exitCode: k6.exitCode,
      thresholdsFailed: k6.thresholdsFailed,
      failedThresholds: k6.failedThresholds,
      acknowledged: k6.acknowledged,
      summary: k6.files.summaryText,
    });
    if (k6.acknowledged > 0) acknowledgements = k6.files.acknowledgements;
  }

  let invariants: InvariantResult[] = [];
  if (experiment.invariants?.length && !options.signal.aborted) {
    invariants = await audit({
      only: experiment.invariants,
      settleMs: 60_000,
      ...(acknowledgements ? { acknowledgements } : {}),
    });
    log('audit', { results: invariants });
    for (const r of invariants.filter((i) => !i.ok))
      reasons.push(`invariant ${r.invariant} broken: ${r.detail}`);
  }
  if (verdict === 'passed' && reasons.length > 0) verdict = 'failed';
  const result: ExperimentResult = {
    id: experiment.id,
    title: experiment.title,
    verdict,
    reasons,
    startedAt,
    finishedAt: new Date().toISOString(),
    before,
    during,
    after,
    faults: [...faults.entries()].map(([active, r]) => ({
      name: r.name,
      type: active.fault.type,
      target: faultTarget(active.fault),
      injectedAt: r.injectedAt,
      revertedAt: r.revertedAt,
      effect: r.effect,
      revert: r.revert,
    })),
    abort,
    recoveryMs,
    invariants,
  };
  log('experiment.finished', { verdict, reasons });
  return result;
}

/**
 * Checks every abort condition once a second. A condition that fails continuously for its
 * `for` duration aborts the method at once; `seen` records when, for the reaction-time figure.
 */
function startAbortMonitor(
  experiment: Experiment,
  method: AbortController,
  seen: { at?: number; condition?: string },
  context: ProbeContext,
  onCheck: (result: ProbeResult) => void,
): { stop(): void } {
  const conditions = experiment.abort ?? [];
  const failingSince = new Map<string, number>();
  let stopped = false;
  const tick = async () => {
    for (const condition of conditions) {
      if (stopped || method.signal.aborted) return;
      const result = await runProbeOnce(condition.probe, context);
      onCheck(result);
      if (result.ok) {
        failingSince.delete(condition.name);
        continue;
      }
      const since = failingSince.get(condition.name) ?? Date.now();
      failingSince.set(condition.name, since);
      if (Date.now() - since >= durationMs(condition.for) && !method.signal.aborted) {
        seen.at = Date.now();
        seen.condition = condition.name;
        method.abort(`aborted: "${condition.name}" failed for ${condition.for} (${result.observed})`);
      }
    }
  };
  const interval = conditions.length > 0 ? setInterval(() => void tick(), 1000) : undefined;
  return {
    stop() {
      stopped = true;
      if (interval) clearInterval(interval);
    },
  };
}
