import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { ProcessKind, ProcessSpec } from './engines/types.js';
import { ensureDir } from './paths.js';
import { waitFor } from './probes.js';

/**
 * Runs the lab's processes the way a container platform runs tasks: a process that exits
 * without being asked to is restarted after a backoff that doubles (0.5 s … 8 s) and resets once
 * it has stayed up for a while. Chaos uses `signal()` (kill -9, SIGSTOP/SIGCONT) and then
 * watches the restart happen.
 */

export type ProcessState = 'starting' | 'running' | 'paused' | 'backoff' | 'stopped' | 'failed';

export interface ProcessStatus {
  readonly name: string;
  readonly kind: ProcessKind;
  readonly state: ProcessState;
  readonly pid: number | undefined;
  readonly command: string;
  readonly port: number;
  readonly restarts: number;
  readonly startedAt: string | undefined;
  readonly lastExit:
    | { readonly code: number | null; readonly signal: string | null; readonly at: string }
    | undefined;
  readonly log: string;
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 8000;
/** Up this long and the next crash starts the backoff from the minimum again. */
const STABLE_AFTER_MS = 30_000;

class Supervised {
  child: ChildProcess | undefined;
  state: ProcessState = 'stopped';
  restarts = 0;
  startedAt: Date | undefined;
  lastExit: ProcessStatus['lastExit'];
  backoffMs = BACKOFF_MIN_MS;
  restartTimer: NodeJS.Timeout | undefined;
  wanted = false;
  readonly log: WriteStream;

  constructor(
    readonly spec: ProcessSpec,
    readonly logPath: string,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }
}

export class Supervisor {
  private readonly processes = new Map<string, Supervised>();

  constructor(
    private readonly logDir: string,
    private readonly onEvent: (event: string, detail: Record<string, unknown>) => void = () => {},
  ) {
    ensureDir(logDir);
  }

  /** Starts the process and resolves once its readiness probe passes. */
  async start(spec: ProcessSpec): Promise<void> {
    if (this.processes.has(spec.name)) throw new Error(`${spec.name} is already supervised`);
    const proc = new Supervised(spec, join(this.logDir, `${spec.name}.log`));
    this.processes.set(spec.name, proc);
    proc.wanted = true;
    this.launch(proc);
    await this.untilReady(proc);
  }

  private async untilReady(proc: Supervised): Promise<void> {
    try {
      await waitFor(
        `${proc.spec.name} to be ready`,
        async () => {
          if (proc.state === 'failed')
            throw new Error(`${proc.spec.name} failed to start: see ${proc.logPath}`);
          // Ready means *our* process answers: a probe could also be answered by a stranger on
          // the same port, so the child must still be alive after the probe passes.
          const child = proc.child;
          return (
            child !== undefined &&
            (await proc.spec.ready()) &&
            proc.child === child &&
            child.exitCode === null
          );
        },
        { timeoutMs: proc.spec.startTimeoutMs ?? 30_000 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message} (log: ${proc.logPath})`);
    }
    if (proc.state === 'starting') proc.state = 'running';
  }

  private launch(proc: Supervised): void {
    const { spec } = proc;
    proc.state = 'starting';
    proc.startedAt = new Date();
    proc.log.write(`\n── ${proc.startedAt.toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.runAs ?? {}),
    });
    proc.child = child;
    child.stdout?.pipe(proc.log, { end: false });
    child.stderr?.pipe(proc.log, { end: false });
    child.once('error', (error) => {
      proc.log.write(`spawn error: ${error.message}\n`);
      proc.state = 'failed';
    });
    child.once('spawn', () => {
      this.onEvent('process.started', { name: spec.name, pid: child.pid });
      void this.markRunningWhenReady(proc, child);
    });
    child.once('exit', (code, signal) => this.exited(proc, child, code, signal));
  }

  /** Polls readiness after every (re)start; a crash before that is handled by the exit path. */
  private async markRunningWhenReady(proc: Supervised, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (proc.spec.startTimeoutMs ?? 30_000);
    while (proc.child === child && proc.state === 'starting' && Date.now() < deadline) {
      if (await proc.spec.ready()) {
        if (proc.child === child && proc.state === 'starting') proc.state = 'running';
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private exited(proc: Supervised, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) {
    if (proc.child !== child) return;
    const at = new Date();
    proc.lastExit = { code, signal, at: at.toISOString() };
    proc.child = undefined;
    proc.log.write(`── ${at.toISOString()} exited code=${code} signal=${signal}\n`);
    this.onEvent('process.exited', { name: proc.spec.name, code, signal });
    if (!proc.wanted) {
      proc.state = 'stopped';
      return;
    }
    const upFor = at.getTime() - (proc.startedAt?.getTime() ?? at.getTime());
    if (upFor > STABLE_AFTER_MS) proc.backoffMs = BACKOFF_MIN_MS;
    const delay = proc.backoffMs;
    proc.backoffMs = Math.min(proc.backoffMs * 2, BACKOFF_MAX_MS);
    proc.state = 'backoff';
    proc.restartTimer = setTimeout(() => {
      proc.restartTimer = undefined;
      if (!proc.wanted) return;
      proc.restarts += 1;
      this.onEvent('process.restarting', { name: proc.spec.name, restarts: proc.restarts, afterMs: delay });
      this.launch(proc);
    }, delay);
  }

  /**
   * Sends a signal. SIGKILL and SIGTERM end the process and the supervisor restarts it (that is
   * the `kill` fault); SIGSTOP / SIGCONT freeze and thaw it (the `pause` fault).
   */
  signal(name: string, signal: NodeJS.Signals): ProcessStatus {
    const proc = this.get(name);
    if (!proc.child?.pid) throw new Error(`${name} is not running (state ${proc.state})`);
    process.kill(proc.child.pid, signal);
    if (signal === 'SIGSTOP') proc.state = 'paused';
    if (signal === 'SIGCONT' && proc.state === 'paused') proc.state = 'running';
    this.onEvent('process.signalled', { name, signal, pid: proc.child.pid });
    return this.statusOf(proc);
  }

  /** Stops one process for good (no restart) and waits for it to exit. */
  async stop(name: string, timeoutMs = 10_000): Promise<void> {
    const proc = this.get(name);
    proc.wanted = false;
    if (proc.restartTimer) clearTimeout(proc.restartTimer);
    const child = proc.child;
    if (!child?.pid) {
      proc.state = 'stopped';
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // a paused process cannot act on SIGTERM until it is continued
    if (proc.state === 'paused') process.kill(child.pid, 'SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    proc.log.end();
  }

  /** Stops every process, last started first (services before the engines they use). */
  async stopAll(): Promise<void> {
    for (const name of [...this.processes.keys()].reverse()) await this.stop(name);
  }

  /** Waits until the named process is ready again, e.g. after a kill. */
  async waitUntilReady(name: string): Promise<void> {
    await this.untilReady(this.get(name));
  }

  status(): ProcessStatus[] {
    return [...this.processes.values()].map((p) => this.statusOf(p));
  }

  private statusOf(proc: Supervised): ProcessStatus {
    return {
      name: proc.spec.name,
      kind: proc.spec.kind,
      state: proc.state,
      pid: proc.child?.pid,
      command: proc.spec.command,
      port: proc.spec.port,
      restarts: proc.restarts,
      startedAt: proc.startedAt?.toISOString(),
      lastExit: proc.lastExit,
      log: proc.logPath,
    };
  }

  private get(name: string): Supervised {
    const proc = this.processes.get(name);
    if (!proc) throw new Error(`no process named ${name}; known: ${[...this.processes.keys()].join(', ')}`);
    return proc;
  }
}
