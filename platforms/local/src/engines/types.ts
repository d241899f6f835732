/**
 * What the local platform needs to know to run one process: an engine (PostgreSQL, Redis,
 * the AWS emulator…), a service, or a tool (Toxiproxy, the gateway simulator).
 */

/** Where the lab keeps its state; every path is absolute. */
export interface LabPaths {
  /** The repository root. */
  readonly root: string;
  /** `.cloudcafe/`: admin token, lab state, journal. */
  readonly stateDir: string;
  /** `.cloudcafe/data/<name>/`: one folder per engine, wiped by `lab down --clean`. */
  readonly dataDir: (name: string) => string;
  /** `.cloudcafe/logs/`: one log file per process. */
  readonly logDir: string;
  /** Where scripts/bootstrap put the binaries (`.tools/bin`, or $CLOUDCAFE_TOOLS_DIR/bin). */
  readonly toolsBin: string;
  /** The Python virtual environment with moto and the other PyPI tools. */
  readonly venvBin: string;
}

export type ProcessKind = 'engine' | 'tool' | 'service';

/** How to start one supervised process and tell when it is ready. */
export interface ProcessSpec {
  /** Unique in the lab, e.g. `postgres`, `aws`, `order`. */
  readonly name: string;
  readonly kind: ProcessKind;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as another user (PostgreSQL refuses root); the supervisor is root when this is set. */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** The port it listens on (127.0.0.1); `lab down` checks it is closed afterwards. */
  readonly port: number;
  /** One readiness probe; the supervisor polls it until true or the start deadline. */
  readonly ready: () => Promise<boolean>;
  /** How long a start may take before it counts as failed (default 30 s). */
  readonly startTimeoutMs?: number;
}

/** An engine: a process plus the one-off work around it. */
export interface EngineSpec {
  readonly name: string;
  readonly port: number;
  /** Runs before the first start: create the data directory, initdb, write a config file. */
  readonly prepare?: (paths: LabPaths) => Promise<void>;
  readonly process: (paths: LabPaths) => ProcessSpec;
  /** Runs once the process is ready: create databases, queues, tables (idempotently). */
  readonly provision?: (paths: LabPaths) => Promise<void>;
}
