import type { Fault } from './fault.js';
import type { Target } from './target.js';

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

/**
 * What the runner hands a driver with each fault. Optional, so drivers written before it (the
 * local one) keep working unchanged.
 */
export interface InjectContext {
  /** How long the fault holds: FIS actions need it up front, the runner's timer still reverts. */
  readonly durationMs: number;
  /**
   * Journals what undoing this fault needs (previous replicas, a FIS experiment id) BEFORE the
   * driver changes anything, so `cloudcafe experiment revert <run-id>` can undo a crashed run.
   */
  revertInfo(info: Readonly<Record<string, unknown>>): void;
  /** Journals a driver event (e.g. a FIS experiment's state as it is polled). */
  record(type: string, detail: Readonly<Record<string, unknown>>): void;
}

/** A fault the platform recorded in force, and what undoing it did (none on a dry run). */
export interface SweptFault {
  /** What it changed, e.g. `deployment cloudcafe/inventory`. */
  readonly resource: string;
  readonly tag: string;
  readonly until: string;
  readonly effect?: Effect;
}

/** One fault as a journal holds it: what `experiment revert` has to go on after a crash. */
export interface JournalledFault {
  readonly name: string;
  readonly spec: Fault;
  readonly tag: string;
  /** The last `fault.revert-info` journalled for this fault, if any. */
  readonly revertInfo: Readonly<Record<string, unknown>> | undefined;
}

/** Settings of the kubernetes and aws drivers, from the command line (local ignores them). */
export interface DriverOptions {
  /** Kubeconfig context; the current context when absent. */
  readonly context?: string;
  /** Kubernetes namespace; `cloudcafe` when absent. */
  readonly namespace?: string;
  /** Kubeconfig file; KUBECONFIG / ~/.kube/config when absent. */
  readonly kubeconfig?: string;
  /** IAM role FIS runs the experiment as. */
  readonly roleArn?: string;
  /** CloudWatch alarms that stop a FIS experiment; the CDK observability stack's when absent. */
  readonly stopAlarms?: readonly string[];
  /** Most pods (`2`) or share of pods (`50%`) one fault may touch. */
  readonly maxPods?: string;
  /** Where the local driver's service faults (flags, stress runs) go; the lab's state file when absent. */
  readonly target?: Target;
}

/**
 * Everything chaos can change on a platform, read at one moment, as `what → state` (e.g.
 * `toxic order-to-inventory/cloudcafe-…-0` → `latency downstream latency=300 jitter=0`). Two
 * of them, before and after a run, are the drift certificate (drift.ts).
 */
export type PlatformSnapshot = Readonly<Record<string, string>>;

/** One platform's way of injecting the fault vocabulary. */
export interface Driver {
  readonly platform: string;
  /** Why this fault cannot run on this platform, or undefined when it can. */
  unsupported(fault: Fault): string | undefined;
  inject(fault: Fault, tag: string, context?: InjectContext): Promise<ActiveFault>;
  /** The exact calls `inject` and `revert` would make, for `--dry-run`; touches nothing. */
  plan?(fault: Fault, tag: string, durationMs: number): string[];
  /** Undoes a fault a crashed run left behind, from its journal entry. */
  undo?(fault: JournalledFault): Promise<Effect>;
  /**
   * The faults the platform itself records in force (kubernetes: the marks on what the driver
   * changed), undone — all of them (`halt`) or those past their deadline (`experiment revert
   * --expired`) — with no journal. Absent where the platform holds deadlines by itself (the local
   * daemon, FIS durations).
   */
  sweep?(options: { readonly expiredOnly: boolean; readonly dryRun?: boolean }): Promise<SweptFault[]>;
  /** What chaos can change on the platform, as it is now; touches nothing. */
  snapshot?(): Promise<PlatformSnapshot>;
}
