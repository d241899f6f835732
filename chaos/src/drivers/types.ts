import type { Fault } from '../experiment/schema.js';

/** What a driver observed when it checked that a fault really acts. */
export interface Effect {
  readonly verified: boolean;
  /** A measured sentence, e.g. `round trip 0.4 ms → 201.3 ms`. */
  readonly detail: string;
}

/** A fault that is in force; `revert` is safe to call more than once. */
export interface ActiveFault {
  readonly fault: Fault;
  /** What the revert will do, journalled before the fault is injected. */
  readonly revertPlan: string;
  verify(): Promise<Effect>;
  revert(): Promise<Effect>;
}

/** One platform's way of injecting the fault vocabulary. */
export interface Driver {
  readonly platform: string;
  /** Why this fault cannot run on this platform, or undefined when it can. */
  unsupported(fault: Fault): string | undefined;
  inject(fault: Fault, tag: string): Promise<ActiveFault>;
}
