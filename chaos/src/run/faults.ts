import type { ActiveFault, Effect } from '@cloudcafe/chaos-interface';
import { durationMs, type Fault, faultTarget } from '../experiment/schema.js';
import type { Platform } from '../platform.js';
import { untilAborted } from './abort.js';

/**
 * The faults of one run, from the moment each is journalled until it is reverted, keyed by the
 * fault's tag (`cloudcafe-<run-id>-<n>`, unique in the run; step names need not be).
 *
 * - A fault is journalled (`fault.injecting`) before the driver acts, so a run that dies at any
 *   point still says what to undo.
 * - An inject the run stopped waiting for (an abort arrived first) is kept: if it lands later,
 *   the rollback reverts it like any other.
 * - A revert that fails, throws or runs past its bound is journalled `fault.revert-failed`, not
 *   `fault.reverted`, so `cloudcafe experiment revert <run-id>` still finds it owed.
 */

export interface FaultRecord {
  readonly name: string;
  readonly tag: string;
  readonly type: string;
  readonly target: string;
  readonly injectedAt: string;
  readonly revertedAt: string | undefined;
  readonly effect: Effect | undefined;
  readonly revert: Effect | undefined;
}

export type FaultLog = (type: string, detail: Record<string, unknown>) => void;

interface Entry {
  readonly name: string;
  readonly tag: string;
  readonly fault: Fault;
  readonly durationMs: number;
  readonly injecting: Promise<ActiveFault | undefined>;
  injectedAt?: string;
  active?: ActiveFault;
  effect?: Effect;
  revertedAt?: string;
  revert?: Effect;
  reverting?: Promise<void>;
  timer?: NodeJS.Timeout;
}

/** How long one revert may take before it counts as failed (the cluster or account may be gone). */
const REVERT_BOUND_MS = 120_000;
/** How long the rollback waits for an inject still under way before giving up on reverting it. */
const INJECT_SETTLE_MS = 120_000;

export class FaultBook {
  private readonly entries: Entry[] = [];

  constructor(
    private readonly platform: Platform,
    private readonly runId: string,
    private readonly log: FaultLog,
    private readonly revertBoundMs = REVERT_BOUND_MS,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /**
   * Injects the step's fault, verifies its effect and arms its revert at the end of its
   * duration. Rejects with Aborted the moment `signal` aborts (the fault, if it lands, stays
   * in the book for the rollback); rejects with the driver's error when the inject fails.
   */
  async inject(step: { name: string; fault: Fault; duration: string }, signal: AbortSignal): Promise<Effect> {
    const tag = `cloudcafe-${this.runId}-${this.entries.length}`;
    const ms = durationMs(step.duration);
    const base = { fault: step.name, tag };
    this.log('fault.injecting', { ...base, spec: step.fault, duration: step.duration });
    const injecting = this.platform.driver.inject(step.fault, tag, {
      durationMs: ms,
      revertInfo: (revert) =>
        this.log('fault.revert-info', { ...base, platform: this.platform.name, revert }),
      record: (type, detail) => this.log(type, { ...base, ...detail }),
    });
    const entry: Entry = {
      name: step.name,
      tag,
      fault: step.fault,
      durationMs: ms,
      injecting: injecting.then(
        (active) => {
          entry.active = active;
          entry.injectedAt = new Date().toISOString();
          return active;
        },
        (error: Error) => {
          this.log('fault.inject-failed', { ...base, error: error.message });
          return undefined;
        },
      ),
    };
    this.entries.push(entry);
    const active = await untilAborted(injecting, signal);
    await entry.injecting; // recorded as in force before anything else can happen to it
    entry.effect = await untilAborted(active.verify(), signal);
    this.log('fault.injected', { ...base, revertPlan: active.revertPlan, effect: entry.effect });
    // the fault's own end; the rollback reverts whatever is still in force before then
    entry.timer = setTimeout(() => void this.revert(entry), ms);
    return entry.effect;
  }

  /** Milliseconds until the last injected fault's duration runs out (0 when all have). */
  remainingMs(now = Date.now()): number {
    const ends = this.entries.map((e) => (e.injectedAt ? Date.parse(e.injectedAt) + e.durationMs - now : 0));
    return Math.max(0, ...ends);
  }

  /** Reverts every fault in force, those whose inject was still under way included; never throws. */
  async rollback(): Promise<void> {
    for (const entry of this.entries) clearTimeout(entry.timer);
    await Promise.all(
      this.entries.map(async (entry) => {
        if (!entry.active) await bounded(entry.injecting, INJECT_SETTLE_MS).catch(() => {});
        if (entry.active) await this.revert(entry);
      }),
    );
  }

  records(): FaultRecord[] {
    return this.entries.flatMap((e) =>
      e.injectedAt
        ? [
            {
              name: e.name,
              tag: e.tag,
              type: e.fault.type,
              target: faultTarget(e.fault),
              injectedAt: e.injectedAt,
              revertedAt: e.revertedAt,
              effect: e.effect,
              revert: e.revert,
            },
          ]
        : [],
    );
  }

  /** Idempotent: the timer and the rollback may both ask; the second waits for the first. */
  private revert(entry: Entry): Promise<void> {
    const active = entry.active;
    if (!active) return Promise.resolve();
    entry.reverting ??= (async () => {
      entry.revertedAt = new Date().toISOString();
      entry.revert = await bounded(active.revert(), this.revertBoundMs).catch((e: Error) => ({
        verified: false,
        detail: `revert failed: ${e.message}`,
      }));
      this.log(entry.revert.verified ? 'fault.reverted' : 'fault.revert-failed', {
        fault: entry.name,
        tag: entry.tag,
        effect: entry.revert,
      });
    })();
    return entry.reverting;
  }
}

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
