import type { InvariantResult } from '../audit.js';
import { durationMs, type Experiment } from '../experiment/schema.js';
import type { Platform } from '../platform.js';
import type { ProbeContext, ProbeResult } from '../probes.js';
import { Aborted, type AbortSeen, sleep, startAbortMonitor, untilAborted } from './abort.js';
import type { FaultBook } from './faults.js';

/**
 * The phases of an experiment run, in order: hypothesis before → method → rollback → recovery
 * (hypothesis after) → audit. Each is a function of the run's context, with the platform in it,
 * so each is tested on its own against a fake platform (chaos/test/run-phases.test.ts).
 * runner.ts strings them together.
 */

export interface RunContext {
  readonly experiment: Experiment;
  readonly platform: Platform;
  /** Ctrl-C / SIGTERM: honoured in every phase; the rollback still runs in full. */
  readonly signal: AbortSignal;
  readonly probes: ProbeContext;
  readonly log: (type: string, detail?: Record<string, unknown>) => void;
}

/** The steady-state probes, one after the other; Aborted as soon as `signal` aborts. */
export async function hypothesis(context: RunContext, signal: AbortSignal): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const probe of context.experiment.steadyState.probes) {
    results.push(await untilAborted(context.platform.probe(probe, context.probes), signal));
  }
  return results;
}

export interface MethodOutcome {
  readonly verdict: 'passed' | 'aborted' | 'error';
  readonly reasons: readonly string[];
  readonly during: readonly ProbeResult[];
  /** When an abort condition fired (not Ctrl-C), for the reaction-time figure. */
  readonly abortSeen: AbortSeen;
}

/**
 * The method's steps — faults, probes, waits — then a hold until the longest fault has run
 * its course. It ends early, at once, on Ctrl-C or when an abort condition has failed for its
 * `for` duration, whatever step is running (a slow inject, verify or probe included).
 */
export async function method(context: RunContext, faults: FaultBook): Promise<MethodOutcome> {
  const { experiment, log } = context;
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(`interrupted: ${String(context.signal.reason)}`);
  if (context.signal.aborted) onOuterAbort();
  context.signal.addEventListener('abort', onOuterAbort, { once: true });
  const abortSeen: AbortSeen = {};
  const monitor = startAbortMonitor(
    experiment,
    context.platform,
    controller,
    abortSeen,
    context.probes,
    (result) => log('abort.check', { result }),
  );
  const reasons: string[] = [];
  const during: ProbeResult[] = [];
  const signal = controller.signal;
  try {
    for (const step of experiment.method) {
      if (signal.aborted) throw new Aborted(String(signal.reason));
      if (step.type === 'wait') await sleep(durationMs(step.duration), signal);
      if (step.type === 'probe') {
        const result = await untilAborted(context.platform.probe(step.probe, context.probes), signal);
        during.push(result);
        log('probe', { result });
        if (!result.ok) reasons.push(`deviation during the method: ${result.name} (${result.observed})`);
      }
      if (step.type === 'fault') {
        const effect = await faults.inject(step, signal);
        if (!effect.verified) reasons.push(`fault "${step.name}" had no visible effect: ${effect.detail}`);
      }
    }
    await sleep(faults.remainingMs(), signal);
    return { verdict: 'passed', reasons, during, abortSeen };
  } catch (error) {
    if (error instanceof Aborted)
      return { verdict: 'aborted', reasons: [...reasons, error.reason], during, abortSeen };
    log('experiment.error', { error: (error as Error).message });
    return {
      verdict: 'error',
      reasons: [...reasons, `error: ${(error as Error).message}`],
      during,
      abortSeen,
    };
  } finally {
    monitor.stop();
    context.signal.removeEventListener('abort', onOuterAbort);
  }
}

/** Every fault reverted, always — a second Ctrl-C does not cut it short. */
export async function rollback(context: RunContext, faults: FaultBook): Promise<void> {
  context.log('rollback.started', { faults: faults.size });
  await faults.rollback();
  context.log('rollback.finished');
}

export interface Recovery {
  readonly after: readonly ProbeResult[];
  /** From the rollback until every steady-state probe passed again; undefined if it never did. */
  readonly recoveryMs: number | undefined;
}

/** Until every steady-state probe passes again, within the experiment's `recovery.within`. */
export async function recovery(context: RunContext, rollbackStartedAt: number): Promise<Recovery> {
  const deadline = rollbackStartedAt + durationMs(context.experiment.recovery.within);
  let after: ProbeResult[] = [];
  let recoveryMs: number | undefined;
  try {
    while (Date.now() < deadline) {
      after = await hypothesis(context, context.signal);
      if (after.every((r) => r.ok)) {
        recoveryMs = Date.now() - rollbackStartedAt;
        break;
      }
      await sleep(500, context.signal);
    }
  } catch (error) {
    if (!(error instanceof Aborted)) throw error;
  }
  context.log('hypothesis.after', { results: after, recoveryMs });
  return { after, recoveryMs };
}

/** The invariants the experiment names, against what the load was promised. */
export async function auditInvariants(
  context: RunContext,
  acknowledgements: string | undefined,
): Promise<InvariantResult[]> {
  const only = context.experiment.invariants ?? [];
  if (only.length === 0 || context.signal.aborted) return [];
  const results = await context.platform.audit({
    only,
    settleMs: 60_000,
    ...(acknowledgements ? { acknowledgements } : {}),
  });
  context.log('audit', { results });
  return results;
}
