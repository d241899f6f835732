import type { Driver, PlatformSnapshot } from '@cloudcafe/chaos-interface';
import type { JournalEvent } from './journal.js';

/**
 * The drift certificate: what chaos can change on the platform (the driver's `snapshot()`),
 * read before a run and after it, and the difference. An empty difference certifies that the
 * lab or cluster was handed back as it was found; every entry names what was not — a toxic
 * still on a link, a link still cut, a process still paused, a flag still on, a stress run
 * still burning, a workload still scaled down.
 */

export interface DriftEntry {
  readonly what: string;
  /** Undefined: it was not there before the run. */
  readonly before: string | undefined;
  /** Undefined: it is gone after the run. */
  readonly after: string | undefined;
}

export interface Drift {
  /** False when the platform's driver cannot take a snapshot: no certificate, not a clean one. */
  readonly certified: boolean;
  readonly entries: readonly DriftEntry[];
  /** Why there is no certificate, when there is none. */
  readonly note?: string;
}

export type Snapshot = { readonly state: PlatformSnapshot } | { readonly error: string } | undefined;

/** The driver's snapshot now; undefined when it has none, the error when it could not take one. */
export async function snapshotOf(driver: Driver): Promise<Snapshot> {
  if (!driver.snapshot) return undefined;
  try {
    return { state: await driver.snapshot() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function driftOf(before: Snapshot, after: Snapshot): Drift {
  if (!before || !after)
    return { certified: false, entries: [], note: 'this platform takes no snapshot yet' };
  if ('error' in before || 'error' in after) {
    const error =
      'error' in before ? `before: ${before.error}` : `after: ${(after as { error: string }).error}`;
    return { certified: false, entries: [], note: `snapshot failed ${error}` };
  }
  const keys = [...new Set([...Object.keys(before.state), ...Object.keys(after.state)])].sort();
  const entries = keys.flatMap((what) => {
    const b = before.state[what];
    const a = after.state[what];
    return a === b ? [] : [{ what, before: b, after: a }];
  });
  return { certified: true, entries };
}

/** The certificate in words, one line per entry. */
export function driftLines(drift: Drift): string[] {
  if (!drift.certified) return [`no drift certificate: ${drift.note ?? 'no snapshot'}`];
  if (drift.entries.length === 0)
    return ['handed back as found: nothing chaos can change differs from before the run'];
  return drift.entries.map((e) => `${e.what}: ${e.before ?? '(absent)'} → ${e.after ?? '(absent)'}`);
}

/** The certificate as the live progress view prints it at the end of a run. */
export function driftProgressLine(event: JournalEvent): string | undefined {
  if (event.type !== 'drift') return undefined;
  const drift = event.drift as Drift;
  const clean = drift.certified && drift.entries.length === 0;
  const lines = driftLines(drift);
  return `${event.at.slice(11, 19)} ${clean ? '✓' : '✗'} drift certificate: ${lines.join('; ')}`;
}
