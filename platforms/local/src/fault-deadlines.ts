/**
 * Local faults held by the lab daemon with a deadline of their own. The orchestrator reverts a
 * fault when its duration ends, but it is one process: killed (SIGKILL, OOM, a closed laptop
 * lid), its timers die with it, and a 300 ms toxic would stay on a link until someone ran
 * `experiment revert` by hand. So the local driver registers every fault it injects here, with
 * the moment it must be gone, before it acts; the daemon — which owns the lab and outlives any
 * run — undoes it itself when the deadline passes, whether or not the orchestrator is alive.
 * A normal revert disarms it first; undoing twice is harmless (each undo is idempotent).
 */

/** What the daemon knows how to undo by itself: the state a local fault leaves behind. */
export type HeldFault =
  | { readonly kind: 'toxic'; readonly link: string; readonly toxic: string }
  | { readonly kind: 'link-disabled'; readonly links: readonly string[] }
  | { readonly kind: 'process-paused'; readonly process: string };

export interface HeldFaultEntry {
  readonly tag: string;
  readonly fault: HeldFault;
  /** Epoch ms after which the daemon undoes the fault. */
  readonly deadline: number;
}

/** The undo actions, injected so the keeper is tested without a lab. */
export interface FaultUndo {
  removeToxic(link: string, toxic: string): Promise<void>;
  enableLink(link: string): Promise<void>;
  continueProcess(name: string): Promise<void> | void;
}

export interface ExpiredFault extends HeldFaultEntry {
  readonly undone: boolean;
  readonly error?: string;
}

/** The longest a held fault may last: the schema's bound on a fault's duration, and a margin. */
export const MAX_HOLD_MS = 16 * 60_000;

export class FaultDeadlines {
  private readonly held = new Map<string, { entry: HeldFaultEntry; timer: NodeJS.Timeout }>();

  constructor(
    private readonly undo: FaultUndo,
    private readonly onExpired: (fault: ExpiredFault) => void = () => {},
  ) {}

  /** Holds a fault until `deadline`; arming a tag again moves its deadline. */
  arm(tag: string, fault: HeldFault, deadline: number, now = Date.now()): HeldFaultEntry {
    if (deadline - now > MAX_HOLD_MS) {
      throw new RangeError(
        `a deadline at most ${MAX_HOLD_MS / 60_000} minutes ahead, got ${deadline - now} ms`,
      );
    }
    this.disarm(tag);
    const entry: HeldFaultEntry = { tag, fault, deadline };
    const timer = setTimeout(() => void this.expire(tag), Math.max(0, deadline - now));
    this.held.set(tag, { entry, timer });
    return entry;
  }

  /** The fault was reverted by its run: nothing left to undo. True when it was held. */
  disarm(tag: string): boolean {
    const held = this.held.get(tag);
    if (!held) return false;
    clearTimeout(held.timer);
    this.held.delete(tag);
    return true;
  }

  list(): HeldFaultEntry[] {
    return [...this.held.values()].map((h) => h.entry).sort((a, b) => a.deadline - b.deadline);
  }

  /** Undoes every held fault now (the lab is going down, or healed). */
  async expireAll(): Promise<ExpiredFault[]> {
    return Promise.all([...this.held.keys()].map((tag) => this.expire(tag)));
  }

  private async expire(tag: string): Promise<ExpiredFault> {
    const held = this.held.get(tag);
    if (!held) throw new Error(`no held fault ${tag}`);
    clearTimeout(held.timer);
    this.held.delete(tag);
    let expired: ExpiredFault;
    try {
      await this.apply(held.entry.fault);
      expired = { ...held.entry, undone: true };
    } catch (error) {
      expired = { ...held.entry, undone: false, error: (error as Error).message };
    }
    this.onExpired(expired);
    return expired;
  }

  private async apply(fault: HeldFault): Promise<void> {
    switch (fault.kind) {
      case 'toxic':
        return this.undo.removeToxic(fault.link, fault.toxic);
      case 'link-disabled':
        for (const link of fault.links) await this.undo.enableLink(link);
        return;
      case 'process-paused':
        await this.undo.continueProcess(fault.process);
        return;
    }
  }
}

/** A held fault from a control request body, or the reason it is not one. */
export function parseHeldFault(body: Record<string, unknown>): {
  tag: string;
  fault: HeldFault;
  holdMs: number;
} {
  const { tag, fault, holdMs, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`unknown field ${unknown[0]}: send tag, fault and holdMs`);
  if (typeof tag !== 'string' || !/^[\w.-]{1,128}$/.test(tag))
    throw new Error('tag: 1–128 of [A-Za-z0-9_.-]');
  if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 0 || holdMs > MAX_HOLD_MS) {
    throw new Error(`holdMs: an integer from 0 to ${MAX_HOLD_MS}`);
  }
  const f = fault as Record<string, unknown> | undefined;
  const name = (v: unknown): v is string => typeof v === 'string' && /^[\w-]{1,64}$/.test(v);
  const shape = (keys: string[]) => Object.keys(f ?? {}).every((k) => keys.includes(k));
  const toxicName = (v: unknown): v is string => typeof v === 'string' && /^[\w.-]{1,128}$/.test(v);
  if (f?.kind === 'toxic' && name(f.link) && toxicName(f.toxic) && shape(['kind', 'link', 'toxic'])) {
    return { tag, holdMs, fault: { kind: 'toxic', link: f.link, toxic: f.toxic } };
  }
  if (
    f?.kind === 'link-disabled' &&
    Array.isArray(f.links) &&
    f.links.length > 0 &&
    f.links.every(name) &&
    shape(['kind', 'links'])
  ) {
    return { tag, holdMs, fault: { kind: 'link-disabled', links: f.links as string[] } };
  }
  if (f?.kind === 'process-paused' && name(f.process) && shape(['kind', 'process'])) {
    return { tag, holdMs, fault: { kind: 'process-paused', process: f.process } };
  }
  throw new Error(
    'fault: {kind: toxic, link, toxic} | {kind: link-disabled, links: [...]} | {kind: process-paused, process}',
  );
}
