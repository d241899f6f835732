import { type Experiment, Fault, faultTarget, type MarginRequest, type Step } from './experiment/schema.js';
import type { JournalEvent } from './journal.js';
import { sleep } from './run/abort.js';
import type { ExperimentResult, Verdict } from './runner.js';

/**
 * Breaking points: an experiment run again and again with one numeric field of one fault
 * raised step by step — `latencyMs=50..1000` over N evenly spaced doses — until the hypothesis
 * fails. The margin is the last dose that held and the first that did not, with the reason.
 *
 * Each dose is a whole, ordinary run (its fault bounded and reverted, its audit, its recovery),
 * of a variant of the experiment in which the steady-state hypothesis is also checked while the
 * fault is in force (ADR 0020): that is what "holds up to 350 ms" means. The search stops at
 * the first failing dose, after N runs at most, and at once on Ctrl-C or a `cloudcafe halt`.
 * Nothing here talks to a platform: the caller hands in how one experiment is run, so the
 * stepping is tested against the fake platform (chaos/test/margin.test.ts).
 */

/** `latencyMs=50..1000`, parsed. */
export interface Vary {
  readonly field: string;
  readonly from: number;
  readonly to: number;
}

/** A margin as a game day carries it (the `margins` field of a game-day file). */
export type MarginSpec = MarginRequest;

export const DEFAULT_STEPS = 10;
export const MAX_STEPS = 50;

/** What a margin search will do, checked before anything runs. */
export interface MarginPlan {
  readonly experiment: Experiment;
  /** Index of the varied fault step in the experiment's method. */
  readonly stepIndex: number;
  readonly stepName: string;
  readonly faultType: string;
  readonly target: string;
  readonly field: string;
  readonly doses: readonly number[];
}

export interface MarginRun {
  readonly dose: number;
  readonly verdict: Verdict;
  readonly reasons: readonly string[];
  readonly recoveryMs: number | undefined;
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface MarginResult {
  readonly experiment: string;
  readonly fault: string;
  readonly faultType: string;
  readonly target: string;
  readonly field: string;
  readonly unit: string;
  readonly doses: readonly number[];
  /** The doses actually run, in order, each with its verdict. */
  readonly runs: readonly MarginRun[];
  /** The highest dose that held; undefined when the first dose already failed. */
  readonly holdsUpTo: number | undefined;
  /** The first dose that failed; undefined when every dose held. */
  readonly failsAt: number | undefined;
  /** Why the first failing dose failed. */
  readonly failure: readonly string[];
  /** Why the search ended before it found an answer (Ctrl-C, a halt); undefined when it did. */
  readonly stopped: string | undefined;
  /** The margin in one sentence, as the CLI and the report print it. */
  readonly sentence: string;
}

/** Parses `<field>=<from>..<to>`; a range that does not rise, or is not two numbers, is refused. */
export function parseVary(text: string): Vary {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(-?[0-9]+(?:\.[0-9]+)?)\.\.(-?[0-9]+(?:\.[0-9]+)?)$/.exec(text);
  if (!match?.[1] || !match[2] || !match[3])
    throw new Error(`--vary must read <fault-field>=<from>..<to>, e.g. latencyMs=50..1000 (got "${text}")`);
  const vary = { field: match[1], from: Number(match[2]), to: Number(match[3]) };
  if (!(vary.to > vary.from))
    throw new Error(`--vary ${text}: the range must rise (${vary.from} .. ${vary.to})`);
  return vary;
}

interface FieldSchema {
  readonly type?: string;
  readonly minimum?: number;
  readonly maximum?: number;
}

/** The schema of one field of one fault type, from the fault schema itself. */
function fieldSchema(faultType: string, field: string): { known: string[]; field: FieldSchema | undefined } {
  const branches = (
    Fault as unknown as { anyOf: { properties: Record<string, FieldSchema & { const?: string }> }[] }
  ).anyOf;
  const branch = branches.find((b) => b.properties.type?.const === faultType);
  const known = Object.keys(branch?.properties ?? {}).filter((k) => k !== 'type');
  return { known, field: branch?.properties[field] };
}

/** `n` evenly spaced doses from `from` to `to`, both included; whole numbers for integer fields. */
export function doses(from: number, to: number, steps: number, integer: boolean): number[] {
  const values = Array.from({ length: steps }, (_, i) => from + ((to - from) * i) / (steps - 1));
  const rounded = values.map((v) => (integer ? Math.round(v) : Math.round(v * 1000) / 1000));
  return [...new Set(rounded)];
}

/**
 * Checks a margin request against the experiment and the fault schema: the field must belong
 * to exactly one fault step (or the one `faultName` names) and be numeric, and the range must
 * lie within the schema's bounds. Every refusal says what would have been accepted.
 */
export function planMargin(
  experiment: Experiment,
  vary: Vary,
  steps: number = DEFAULT_STEPS,
  faultName?: string,
): MarginPlan {
  if (!Number.isInteger(steps) || steps < 2 || steps > MAX_STEPS)
    throw new Error(`--steps must be a whole number from 2 to ${MAX_STEPS} (got ${steps})`);
  const faults = experiment.method.flatMap((step, index) =>
    step.type === 'fault' && (faultName === undefined || step.name === faultName) ? [{ step, index }] : [],
  );
  if (faults.length === 0)
    throw new Error(
      faultName === undefined
        ? `${experiment.id} injects no fault: there is nothing to vary`
        : `${experiment.id} has no fault step named "${faultName}"`,
    );
  const carrying = faults.filter(({ step }) => fieldSchema(step.fault.type, vary.field).field !== undefined);
  if (carrying.length === 0) {
    const fields = faults
      .map(
        ({ step }) =>
          `${step.name} (${step.fault.type}: ${fieldSchema(step.fault.type, vary.field).known.join(', ')})`,
      )
      .join('; ');
    throw new Error(
      `no fault of ${experiment.id} has a field "${vary.field}"; its faults and fields: ${fields}`,
    );
  }
  if (carrying.length > 1)
    throw new Error(
      `several faults of ${experiment.id} have "${vary.field}" (${carrying
        .map(({ step }) => step.name)
        .join(', ')}): name one with --fault`,
    );
  const [{ step, index }] = carrying as [{ step: Extract<Step, { type: 'fault' }>; index: number }];
  const schema = fieldSchema(step.fault.type, vary.field).field as FieldSchema;
  if (schema.type !== 'integer' && schema.type !== 'number')
    throw new Error(
      `${step.fault.type}.${vary.field} is not numeric (it is a ${schema.type ?? 'structured'} field)`,
    );
  if (schema.minimum !== undefined && vary.from < schema.minimum)
    throw new Error(`${step.fault.type}.${vary.field} is at least ${schema.minimum} (got ${vary.from})`);
  if (schema.maximum !== undefined && vary.to > schema.maximum)
    throw new Error(`${step.fault.type}.${vary.field} is at most ${schema.maximum} (got ${vary.to})`);
  return {
    experiment,
    stepIndex: index,
    stepName: step.name,
    faultType: step.fault.type,
    target: faultTarget(step.fault),
    field: vary.field,
    doses: doses(vary.from, vary.to, steps, schema.type === 'integer'),
  };
}

/** Prefix of the steady-state probes a margin run checks while the fault is in force. */
export const UNDER_FAULT = 'under the fault: ';

/**
 * The experiment at one dose: the varied field set, and the steady-state probes run right after
 * the fault is injected and verified, while it is in force. A new document: the loaded one is
 * never changed.
 */
export function atDose(plan: MarginPlan, dose: number): Experiment {
  const { experiment } = plan;
  const method = experiment.method.flatMap((step, i): Step[] => {
    if (i !== plan.stepIndex || step.type !== 'fault') return [step];
    const varied = { ...step, fault: { ...step.fault, [plan.field]: dose } as Fault };
    const probes = experiment.steadyState.probes.map(
      (probe): Step => ({ type: 'probe', probe: { ...probe, name: `${UNDER_FAULT}${probe.name}` } }),
    );
    return [varied, ...probes];
  });
  // its own id per dose: each dose's load gets its own k6 folder and acknowledgements, and the
  // journal tells the doses apart (`network-latency-at-472`)
  const id = `${experiment.id}-at-${String(dose).replace(/[^0-9]/g, '-')}`.slice(0, 63);
  return { ...experiment, id, title: `${experiment.title} (${plan.field}=${dose})`, method };
}

/** `latencyMs` → `ms`; a field without a unit suffix reads as a bare number. */
const unitOf = (field: string) => (/Ms$/.test(field) ? 'ms' : /Seconds$/.test(field) ? 's' : '');

export interface SearchOptions {
  /** Runs one experiment to its verdict (the runner, with the platform and journal in it). */
  run(experiment: Experiment): Promise<ExperimentResult>;
  /** Ctrl-C / SIGTERM: no further dose starts. */
  readonly signal: AbortSignal;
  /** Why runs are blocked now (a `cloudcafe halt`), or undefined; asked before every dose. */
  halted(): string | undefined;
  /** A pause between doses, so one run's aftermath does not colour the next. */
  readonly gapMs?: number;
  readonly log?: (type: string, detail: Record<string, unknown>) => void;
}

/** Raises the dose step by step until a run does not pass; at most one run per dose. */
export async function findMargin(plan: MarginPlan, options: SearchOptions): Promise<MarginResult> {
  const log = options.log ?? (() => {});
  log('margin.started', { experiment: plan.experiment.id, field: plan.field, doses: plan.doses });
  const runs: MarginRun[] = [];
  let stopped: string | undefined;
  for (const [i, dose] of plan.doses.entries()) {
    const halt = options.halted();
    if (options.signal.aborted) stopped = `interrupted: ${String(options.signal.reason)}`;
    else if (halt) stopped = `halted: ${halt}`;
    if (stopped) break;
    if (i > 0 && options.gapMs) await sleep(options.gapMs, options.signal).catch(() => {});
    log('margin.dose', { experiment: plan.experiment.id, field: plan.field, dose });
    const result = await options.run(atDose(plan, dose));
    runs.push({
      dose,
      verdict: result.verdict,
      reasons: result.reasons,
      recoveryMs: result.recoveryMs,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
    });
    // a run cut short by Ctrl-C says nothing about the dose
    if (options.signal.aborted) {
      stopped = `interrupted: ${String(options.signal.reason)}`;
      runs.pop();
      break;
    }
    if (result.verdict !== 'passed') break;
  }
  const failing = runs.find((r) => r.verdict !== 'passed');
  const held = runs.filter((r) => r.verdict === 'passed');
  const partial = {
    experiment: plan.experiment.id,
    fault: plan.stepName,
    faultType: plan.faultType,
    target: plan.target,
    field: plan.field,
    unit: unitOf(plan.field),
    doses: plan.doses,
    runs,
    holdsUpTo: failing || stopped ? held.at(-1)?.dose : plan.doses.at(-1),
    failsAt: failing?.dose,
    failure: failing?.reasons ?? [],
    stopped: failing ? undefined : stopped,
  };
  const result = { ...partial, sentence: marginSentence(partial) };
  log('margin.finished', { experiment: plan.experiment.id, margin: result });
  return result;
}

/** The margin in words: "network-latency holds up to 321 ms latencyMs on order-to-inventory; fails at 457 ms: …". */
export function marginSentence(m: Omit<MarginResult, 'sentence'>): string {
  const v = (n: number) => `${n}${m.unit ? ` ${m.unit}` : ''}`;
  const what = `${m.field} (${m.faultType}) on ${m.target}`;
  const why = m.failure.length > 0 ? `: ${m.failure.join('; ')}` : '';
  if (m.stopped)
    return `${m.experiment}: search stopped (${m.stopped})${
      m.holdsUpTo === undefined ? '' : `; held up to ${v(m.holdsUpTo)} ${what} so far`
    }`;
  if (m.failsAt === undefined)
    return `${m.experiment} holds across the whole range: up to ${v(m.holdsUpTo ?? 0)} ${what}, no breaking point found`;
  if (m.holdsUpTo === undefined)
    return `${m.experiment} fails already at the lowest dose, ${v(m.failsAt)} ${what}${why}`;
  return `${m.experiment} holds up to ${v(m.holdsUpTo)} ${what}; fails at ${v(m.failsAt)}${why}`;
}

/** What a search will do, for `--dry-run`. */
export function marginPlanLine(plan: MarginPlan): string {
  return `margin of ${plan.experiment.id}: "${plan.stepName}" (${plan.faultType} on ${plan.target}) at ${plan.field} = ${plan.doses.join(', ')}, one run each until the hypothesis fails (at most ${plan.doses.length} runs)`;
}

/** One readable line per margin event, for the live progress view. */
export function marginProgressLine(event: JournalEvent): string | undefined {
  const time = event.at.slice(11, 19);
  if (event.type === 'margin.started')
    return `${time} ▶ margin of ${event.experiment}: ${event.field} over ${(event.doses as number[]).join(', ')}`;
  if (event.type === 'margin.dose') return `${time} ▶ margin: ${event.field}=${event.dose}`;
  if (event.type === 'margin.finished') return `${time} ■ ${(event.margin as MarginResult).sentence}`;
  return undefined;
}
