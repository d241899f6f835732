import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';

/**
 * Everything that happens in a run, with timestamps, in order. It is rewritten to disk after
 * every event, so a run that dies still leaves a record of which faults it had injected.
 * Reporters read it; they never see anything the journal does not hold.
 */

export interface JournalEvent {
  readonly at: string;
  readonly type: string;
  readonly experiment?: string;
  readonly [key: string]: unknown;
}

export type EventListener = (event: JournalEvent) => void;

export const REPORTS_DIR = join(REPO_ROOT, 'reports');

/** `20261121T151230-network-latency`: sortable, unique enough for one machine. */
export function newRunId(name: string, now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${stamp}-${name}`;
}

export class Journal {
  readonly events: JournalEvent[] = [];
  readonly dir: string;
  private readonly listeners: EventListener[] = [];

  constructor(
    readonly runId: string,
    readonly meta: Record<string, unknown>,
    reportsDir: string = REPORTS_DIR,
  ) {
    this.dir = join(reportsDir, runId);
    mkdirSync(this.dir, { recursive: true });
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  record(type: string, detail: Record<string, unknown> = {}): JournalEvent {
    const event: JournalEvent = { at: new Date().toISOString(), type, ...detail };
    this.events.push(event);
    this.flush();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  flush(): void {
    const body = { runId: this.runId, ...this.meta, events: this.events };
    writeFileSync(join(this.dir, 'journal.json'), `${JSON.stringify(body, null, 2)}\n`);
  }
}

/**
 * Pairs each fault event with the fault it is about. A run's events carry the fault's tag
 * (unique in the run; step names need not be); journals written before tags were on every
 * event are paired by experiment and step name, to the latest fault of that name.
 */
export class FaultKeys {
  private readonly byName = new Map<string, string>();

  /** The fault's key for an event, opening a new fault on `fault.injecting`. */
  keyOf(event: JournalEvent): string {
    const name = `${event.experiment ?? ''}\u0000${String(event.fault)}`;
    const tag = typeof event.tag === 'string' ? event.tag : undefined;
    if (event.type === 'fault.injecting') {
      const key = tag ?? name;
      this.byName.set(name, key);
      return key;
    }
    return tag ?? this.byName.get(name) ?? name;
  }
}
