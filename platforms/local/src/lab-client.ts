import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AWS_ENDPOINTS } from './engines/aws.js';
import type { LabPaths } from './engines/types.js';
import type { HeldFault, HeldFaultEntry } from './fault-deadlines.js';
import { adminTokenFile, ensureDir, ensureSecretFile, labPaths, serviceTokenFile } from './paths.js';
import { HOST, PORTS, SERVICE_PORTS } from './ports.js';
import { tcpOpen, waitFor } from './probes.js';
import { type LabState, processStartTime, readLabState, readProcessRecord } from './state.js';
import type { ProcessStatus } from './supervisor.js';

/**
 * How the CLI, the tests and the orchestrator drive the lab daemon: start it, ask it, stop it.
 */

export interface LabStatus {
  readonly ready: boolean;
  readonly state: LabState | undefined;
  readonly processes: readonly ProcessStatus[];
  /** Local faults the daemon holds, each with the deadline it undoes it at. */
  readonly faults?: readonly HeldFaultEntry[];
}

const CONTROL = `http://${HOST}:${PORTS.supervisor}`;
const daemonLog = (paths: LabPaths) => join(paths.logDir, 'daemon.log');

/** The admin token the control API takes; none yet before the first `lab up` wrote it. */
function controlToken(paths: LabPaths): string | undefined {
  try {
    return readFileSync(adminTokenFile(paths), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function control<T>(method: string, path: string, body?: unknown, timeoutMs = 3000): Promise<T> {
  const token = controlToken(labPaths());
  const res = await fetch(`${CONTROL}${path}`, {
    method,
    headers: {
      ...(token !== undefined && { authorization: `Bearer ${token}` }),
      // The control API refuses a POST whose body is not JSON, an empty one included.
      ...(method === 'POST' && { 'content-type': 'application/json' }),
    },
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const payload = (await res.json()) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(`lab control ${method} ${path}: ${payload.error?.message ?? res.status}`);
  return payload;
}

/** The live status, or undefined when no daemon answers. */
export async function labStatus(): Promise<LabStatus | undefined> {
  try {
    return await control<LabStatus>('GET', '/status');
  } catch {
    return undefined;
  }
}

/** Sends a signal to one supervised process (the `kill` and `pause` faults use this). */
export function signalProcess(name: string, signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT') {
  return control<ProcessStatus>('POST', `/processes/${encodeURIComponent(name)}/signal`, { signal });
}

/**
 * Asks the daemon to undo a local fault `holdMs` from now unless released first: the fault's
 * bound that holds even when the run that injected it is killed. Called before the fault acts.
 */
export function holdFault(tag: string, fault: HeldFault, holdMs: number) {
  return control<HeldFaultEntry>('POST', '/faults', { tag, fault, holdMs });
}

/** The run reverted the fault itself: the daemon's deadline for it is dropped. */
export function releaseFault(tag: string) {
  return control<{ released: boolean }>('DELETE', `/faults/${encodeURIComponent(tag)}`);
}

/** Clears what a crashed chaos run may have left: toxics, disabled links, paused processes. */
export function healLab() {
  return control<{ healed: string[] }>('POST', '/heal');
}

function tailOf(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Brings the lab up and resolves once every health check is green. If it is already up, heals
 * leftovers from a crashed run instead of starting a second one.
 */
export async function labUp(
  options: { paths?: LabPaths; timeoutMs?: number; onProgress?: (status: LabStatus) => void } = {},
): Promise<LabState> {
  const paths = options.paths ?? labPaths();
  const existing = await labStatus();
  if (existing?.ready && existing.state) {
    await healLab();
    return existing.state;
  }
  let daemonPid: number | undefined;
  if (!existing) {
    const busy = await busyPorts([
      PORTS.gateway,
      PORTS.supervisor,
      PORTS.toxiproxy,
      PORTS.postgres,
      PORTS.redis,
    ]);
    if (busy.length > 0) {
      throw new Error(`cannot start the lab: ports ${busy.join(', ')} are in use (is another lab running?)`);
    }
    ensureDir(paths.logDir);
    // Written here, before the daemon starts, so status can be asked with the token at once.
    ensureSecretFile(adminTokenFile(paths));
    ensureSecretFile(serviceTokenFile(paths));
    const out = openSync(daemonLog(paths), 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'platforms/local/src/daemon-main.ts'], {
      cwd: paths.root,
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    closeSync(out);
    daemonPid = child.pid;
  }
  let last: LabStatus | undefined;
  try {
    await waitFor(
      'the lab to be ready',
      async () => {
        last = await labStatus();
        if (last) options.onProgress?.(last);
        if (daemonPid !== undefined && !alive(daemonPid)) throw new Error('the lab daemon failed to start');
        return last?.ready === true;
      },
      { timeoutMs: options.timeoutMs ?? 180_000, intervalMs: 500 },
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n── ${daemonLog(paths)} (last lines):\n${tailOf(daemonLog(paths))}`,
    );
  }
  if (!last?.state) throw new Error('the lab reported ready without its state');
  return last.state;
}

/** Every port the lab listens on: engines, tools, services, and the links of the given state. */
function labPorts(state: LabState | undefined): number[] {
  const links = state?.links.map((l) => l.listenPort) ?? [];
  return [
    ...Object.values(PORTS),
    ...Object.values(AWS_ENDPOINTS),
    ...Object.values(SERVICE_PORTS),
    ...links,
  ];
}

async function busyPorts(ports: readonly number[]): Promise<number[]> {
  const open = await Promise.all(ports.map(async (p) => ((await tcpOpen(p)) ? p : undefined)));
  return open.filter((p): p is number => p !== undefined);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the lab and checks that nothing is left listening. Resolves with the ports still open
 * (empty when clean).
 */
export async function labDown(options: { paths?: LabPaths; timeoutMs?: number } = {}): Promise<number[]> {
  const paths = options.paths ?? labPaths();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const status = await labStatus();
  const state = status?.state ?? readLabState(paths);
  const daemonPid = state?.pid;
  if (status) await control('POST', '/down').catch(() => {});
  else if (daemonPid && alive(daemonPid)) process.kill(daemonPid, 'SIGTERM');
  if (daemonPid)
    await waitFor('the lab daemon to exit', async () => !alive(daemonPid), { timeoutMs }).catch(() => {});
  // A daemon killed with -9 cannot stop its children: stop the ones it recorded.
  killOrphans(paths);
  const ports = labPorts(state);
  let busy: number[] = [];
  await waitFor(
    'every lab port to close',
    async () => {
      busy = await busyPorts(ports);
      return busy.length === 0;
    },
    { timeoutMs: 10_000 },
  ).catch(() => {});
  return busy;
}

function killOrphans(paths: LabPaths): void {
  for (const { pid, startTime } of readProcessRecord(paths)) {
    // Only the very process that was recorded: a pid may since have been reused by another
    // (another lab's service, say), but not with the same start time.
    if (startTime !== undefined && processStartTime(pid) === startTime) process.kill(pid, 'SIGKILL');
  }
}

/** The log file of one process (or of the daemon itself). */
export function logFile(name: string, paths: LabPaths = labPaths()): string {
  return name === 'daemon' ? daemonLog(paths) : join(paths.logDir, `${name}.log`);
}
