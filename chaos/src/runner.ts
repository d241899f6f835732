import type { DriverOptions } from '@cloudcafe/chaos-interface';
import type { InvariantResult } from './audit.js';
import { driverFor } from './drivers/index.js';
import {
  durationMs,
  type Experiment,
  faultTarget,
  type Platform as PlatformName,
} from './experiment/schema.js';
import type { Journal } from './journal.js';
import type { Platform } from './platform.js';
import type { ProbeResult } from './probes.js';
import { Aborted } from './run/abort.js';
import { FaultBook, type FaultRecord } from './run/faults.js';
import { type BackgroundLoad, finishLoad, startLoad } from './run/load.js';
import { auditInvariants, hypothesis, method, type RunContext, recovery, rollback } from './run/phases.js';

/**
 * The experiment lifecycle: steady-state hypothesis before → method (faults and probes, with
 * abort conditions checked every second) → rollbacks, always → recovery wait → hypothesis
 * after → audit. Whatever happens — an abort, an error, Ctrl-C through `signal` in any phase —
 * every injected fault is reverted, and the journal holds both the injection and the revert.
 * The phases are in run/phases.ts; this file strings them together and shapes the result.
 */

export type Verdict = 'passed' | 'failed' | 'aborted' | 'error';
export type { FaultRecord };

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
  /** Where the faults go and what judges the run (platform.ts). */
  readonly platform: Platform;
  readonly journal: Journal;
  /** Aborted by Ctrl-C / SIGTERM: the run stops and rolls back. */
  readonly signal: AbortSignal;
}

/** What the run would do, without touching anything. */
export function plan(
  experiment: Experiment,
  platform: PlatformName,
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
  log('experiment.started', { title: experiment.title, platform: options.platform.name });
  const load = experiment.load
    ? await startLoad(experiment, journal, options.signal, options.platform.target)
    : undefined;
  try {
    return await lifecycle(experiment, options, load, log);
  } finally {
    // a run that ends any way at all stops its load (stop is idempotent once k6 has exited)
    load?.run.stop();
  }
}

async function lifecycle(
  experiment: Experiment,
  options: RunOptions,
  load: BackgroundLoad | undefined,
  log: RunContext['log'],
): Promise<ExperimentResult> {
  const startedAt = new Date().toISOString();
  const context: RunContext = {
    experiment,
    platform: options.platform,
    signal: options.signal,
    // probes read the background load's live figures through k6's REST API
    probes: load ? { k6Api: load.run.apiAddress } : {},
    log,
  };
  const empty = {
    during: [],
    after: [],
    faults: [],
    abort: undefined,
    recoveryMs: undefined,
    invariants: [],
  };
  const finished = (result: Omit<ExperimentResult, 'id' | 'title' | 'startedAt' | 'finishedAt'>) => {
    log('experiment.finished', { verdict: result.verdict, reasons: result.reasons });
    return {
      id: experiment.id,
      title: experiment.title,
      startedAt,
      finishedAt: new Date().toISOString(),
      ...result,
    };
  };

  // 1. Hypothesis before: nothing is injected into a system that is not in its steady state,
  // nor once the run was interrupted.
  let before: ProbeResult[];
  try {
    before = await hypothesis(context, options.signal);
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
    return finished({
      ...empty,
      verdict: 'aborted',
      reasons: [`interrupted: ${String(options.signal.reason)}`],
      before: [],
    });
  }
  log('hypothesis.before', { results: before });
  const unmet = before.filter((r) => !r.ok);
  if (unmet.length > 0) {
    const reasons = [
      `steady state not met before: ${unmet.map((r) => `${r.name} (${r.observed})`).join(', ')}`,
    ];
    return finished({ ...empty, verdict: 'failed', reasons, before });
  }

  // 2. Method, 3. rollback (always).
  const faults = new FaultBook(options.platform, options.journal.runId, log);
  let outcome: Awaited<ReturnType<typeof method>>;
  let rollbackStartedAt: number;
  try {
    outcome = await method(context, faults);
  } finally {
    rollbackStartedAt = Date.now();
    await rollback(context, faults);
  }
  const reasons = [...outcome.reasons];
  const { abortSeen } = outcome;
  const abort =
    abortSeen.at !== undefined && abortSeen.condition
      ? {
          condition: abortSeen.condition,
          seenAt: new Date(abortSeen.at).toISOString(),
          reactionMs: Math.max(0, rollbackStartedAt - abortSeen.at),
        }
      : undefined;
  if (abort) log('abort', abort);

  // 4. Recovery and the hypothesis after (not when the run was interrupted).
  const { after, recoveryMs } = options.signal.aborted
    ? { after: [], recoveryMs: undefined }
    : await recovery(context, rollbackStartedAt);
  if (!options.signal.aborted && recoveryMs === undefined)
    reasons.push(`steady state did not return within ${experiment.recovery.within}`);
  const records = faults.records();
  for (const r of records)
    if (r.revert && !r.revert.verified)
      reasons.push(`fault "${r.name}" was not cleanly reverted: ${r.revert.detail}`);

  // 5. The load stops before the audit: the audit judges what the load was promised.
  const acknowledgements = load ? await finishLoad(load, log) : undefined;
  const invariants = await auditInvariants(context, acknowledgements);
  for (const r of invariants.filter((i) => !i.ok))
    reasons.push(`invariant ${r.invariant} broken: ${r.detail}`);

  const verdict: Verdict = outcome.verdict === 'passed' && reasons.length > 0 ? 'failed' : outcome.verdict;
  return finished({
    verdict,
    reasons,
    before,
    during: outcome.during,
    after,
    faults: records,
    abort,
    recoveryMs,
    invariants,
  });
}
