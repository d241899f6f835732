import { durationMs, type Experiment } from '../experiment/schema.js';
import type { Platform } from '../platform.js';
import type { ProbeContext, ProbeResult } from '../probes.js';

/** The method stopped early: Ctrl-C, SIGTERM or an abort condition; `reason` says which. */
export class Aborted extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const abortedBy = (signal: AbortSignal) => new Aborted(String(signal.reason));

/** Waits `ms`, or rejects with {@link Aborted} as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return untilAborted(slept, signal).finally(() => clearTimeout(timer));
}

/**
 * `work`, or {@link Aborted} the moment `signal` aborts, whichever comes first: a probe or a
 * driver call that takes its time (a 60 s verify on a loaded cluster) does not hold an abort
 * back. The work itself runs on to its own bound; a caller that must see its outcome (an
 * inject that lands after the abort, and so must still be reverted) keeps the promise.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {}); // settled later, unobserved: not an unhandled rejection
    return Promise.reject(abortedBy(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedBy(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** When an abort condition fired: what the reaction-time figure is measured from. */
export interface AbortSeen {
  at?: number;
  condition?: string;
}

/**
 * Checks every abort condition once a second. A condition that fails continuously for its
 * `for` duration aborts the method at once; `seen` records when, for the reaction-time figure.
 */
export function startAbortMonitor(
  experiment: Experiment,
  platform: Platform,
  method: AbortController,
  seen: AbortSeen,
  context: ProbeContext,
  onCheck: (result: ProbeResult) => void,
): { stop(): void } {
  const conditions = experiment.abort ?? [];
  const failingSince = new Map<string, number>();
  let stopped = false;
  let checking = false;
  const tick = async () => {
    if (checking) return; // a slow reading is not overlapped by the next second's
    checking = true;
    try {
      for (const condition of conditions) {
        if (stopped || method.signal.aborted) return;
        const result = await platform.probeOnce(condition.probe, context);
        if (stopped) return;
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
    } finally {
      checking = false;
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
