import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { ENGINES } from './engines/index.js';
import type { LabPaths } from './engines/types.js';
import { FaultDeadlines, parseHeldFault } from './fault-deadlines.js';
import { createGateway, PUBLIC_PATHS } from './gateway.js';
import { lambdaRuntimeFor } from './lambda-runtime/process-spec.js';
import { adminTokenFile, ensureDir, labPaths, labStateFile } from './paths.js';
import { HOST, PORTS, SERVICE_PORTS } from './ports.js';
import { httpOk } from './probes.js';
import { paymentGatewaySimulator } from './simulators.js';
import { type LabState, processStartTime, writeProcessRecord } from './state.js';
import { type ProcessStatus, Supervisor } from './supervisor.js';
import { linksFor, presentServices, type ServiceDefinition, serviceEnv } from './topology.js';
import { ToxiproxyClient } from './toxiproxy-client.js';

/**
 * The lab daemon: started detached by `cloudcafe lab up`, it brings up the engines, the links,
 * the services and the gateway, supervises them until `lab down`, and answers a small control
 * API on 127.0.0.1:8079 that the CLI and the chaos orchestrator use (status, signals, down).
 */

const SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGSTOP', 'SIGCONT'] as const;
type ControlSignal = (typeof SIGNALS)[number];

function log(message: string, detail: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...detail })}\n`);
}

function ensureAdminToken(paths: LabPaths): string {
  const file = adminTokenFile(paths);
  if (existsSync(file)) return file;
  writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  return file;
}

/** The service's own health endpoint, asked directly rather than through the gateway. */
const healthUrl = (service: ServiceDefinition): string =>
  `http://${HOST}:${SERVICE_PORTS[service.name]}/api/${PUBLIC_PATHS[service.name]}/health`;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export class LabDaemon {
  readonly supervisor: Supervisor;
  private gateway: Server | undefined;
  private control: Server | undefined;
  private state: LabState | undefined;
  private stopping = false;
  /** Local faults in force, each undone here at its deadline if its run does not (fault-deadlines.ts). */
  readonly faults: FaultDeadlines;

  constructor(readonly paths: LabPaths = labPaths()) {
    this.supervisor = new Supervisor(paths.logDir, (event, detail) => {
      log(event, detail);
      if (event === 'process.started') this.recordProcesses();
    });
    const toxiproxy = new ToxiproxyClient();
    this.faults = new FaultDeadlines(
      {
        removeToxic: (link, toxic) => toxiproxy.removeToxic(link, toxic),
        enableLink: async (link) => void (await toxiproxy.setEnabled(link, true)),
        continueProcess: (name) => void this.supervisor.signal(name, 'SIGCONT'),
      },
      (expired) => log('fault.deadline-passed', { ...expired }),
    );
  }

  /** Keeps .cloudcafe/processes.json current, for `lab down` after a daemon crash. */
  private recordProcesses(): void {
    const records = this.supervisor
      .status()
      .filter((p) => p.pid !== undefined)
      .map((p) => ({
        name: p.name,
        pid: p.pid as number,
        command: p.command,
        startTime: processStartTime(p.pid as number),
      }));
    writeProcessRecord(this.paths, [
      {
        name: 'daemon',
        pid: process.pid,
        command: process.execPath,
        startTime: processStartTime(process.pid),
      },
      ...records,
    ]);
  }

  async up(): Promise<void> {
    const { paths } = this;
    ensureDir(paths.stateDir);
    const tokenFile = ensureAdminToken(paths);
    const startedAt = new Date().toISOString();
    // Answer status while starting, so `lab up` can show progress and `lab down` can stop us.
    this.control = await this.listenControl();

    // A fresh lab is a fresh world. The AWS emulators keep their state in memory only, so data
    // kept by PostgreSQL, Redis or FerretDB across a restart would point at reservations,
    // payments and receipts that no longer exist — an inconsistency no real platform has.
    rmSync(dirname(paths.dataDir('x')), { recursive: true, force: true });
    log('lab.data-reset', { dir: dirname(paths.dataDir('x')) });

    for (const engine of ENGINES) {
      log('engine.preparing', { name: engine.name });
      await engine.prepare?.(paths);
      await this.supervisor.start(engine.process(paths));
      await engine.provision?.(paths);
      log('engine.ready', { name: engine.name, port: engine.port });
    }

    await this.supervisor.start(paymentGatewaySimulator(paths));

    const services = presentServices(paths);
    const links = linksFor(services);
    const toxiproxy = new ToxiproxyClient();
    // Leftovers from a run that died are cleared here: every link comes back enabled, no toxics.
    await toxiproxy.reset();
    for (const link of links) {
      await toxiproxy.ensureProxy(link.name, `${HOST}:${link.listenPort}`, `${HOST}:${link.upstreamPort}`);
    }
    log('links.ready', { count: links.length });

    for (const service of services) {
      const env = serviceEnv(service, links, paths, tokenFile);
      // A service's Lambda runs in the local Lambda runtime, started before the service's
      // HTTP front, which is told where it is.
      const runtime = lambdaRuntimeFor(service, env, paths);
      if (runtime) await this.supervisor.start(runtime.process);
      await this.supervisor.start({
        name: service.name,
        kind: 'service',
        command: process.execPath,
        args: ['--import', 'tsx', service.entry],
        cwd: paths.root,
        env: { ...env, ...runtime?.frontEnv },
        port: SERVICE_PORTS[service.name],
        ready: () => httpOk(healthUrl(service)),
        startTimeoutMs: 60_000,
      });
    }

    const present = new Set(services.map((s) => s.name));
    this.gateway = createGateway((name) => present.has(name));
    await new Promise<void>((resolve, reject) => {
      this.gateway?.once('error', reject);
      this.gateway?.listen(PORTS.gateway, HOST, resolve);
    });

    this.state = {
      pid: process.pid,
      startedAt,
      readyAt: new Date().toISOString(),
      root: paths.root,
      gateway: `http://${HOST}:${PORTS.gateway}`,
      control: `http://${HOST}:${PORTS.supervisor}`,
      adminTokenFile: tokenFile,
      ports: { ...PORTS },
      services: services.map((s) => ({
        name: s.name,
        port: SERVICE_PORTS[s.name],
        health: `http://${HOST}:${PORTS.gateway}/api/${PUBLIC_PATHS[s.name]}/health`,
      })),
      links: links.map((l) => ({ ...l })),
    };
    writeFileSync(labStateFile(paths), `${JSON.stringify(this.state, null, 2)}\n`);
    log('lab.ready', { gateway: this.state.gateway });
  }

  private listenControl(): Promise<Server> {
    const server = createServer((req, res) => {
      this.handleControl(req, res).catch((error: Error) => reply(res, 400, { error: error.message }));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(PORTS.supervisor, HOST, () => resolve(server));
    });
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (req.method === 'GET' && url.pathname === '/status') {
      reply(res, 200, {
        ready: this.state !== undefined,
        state: this.state,
        processes: this.supervisor.status(),
        faults: this.faults.list(),
      });
      return;
    }
    if (await this.handleFaults(req, res, url)) return;
    const signal = /^\/processes\/([\w-]+)\/signal$/.exec(url.pathname);
    if (req.method === 'POST' && signal?.[1]) {
      const body = await readBody(req);
      const sig = body.signal as ControlSignal;
      if (!SIGNALS.includes(sig)) {
        reply(res, 400, { error: `signal must be one of ${SIGNALS.join(', ')}` });
        return;
      }
      const status: ProcessStatus = this.supervisor.signal(signal[1], sig);
      reply(res, 200, status);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/heal') {
      reply(res, 200, { healed: await this.heal() });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/down') {
      reply(res, 202, { stopping: true });
      void this.down();
      return;
    }
    reply(res, 404, { error: `no control route ${req.method} ${url.pathname}` });
  }

  /**
   * `POST /faults` holds a local fault until its deadline (the local driver calls it before it
   * acts); `DELETE /faults/<tag>` releases it once its run reverted it. True when it answered.
   */
  private async handleFaults(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (req.method === 'POST' && url.pathname === '/faults') {
      const { tag, fault, holdMs } = parseHeldFault(await readBody(req));
      reply(res, 201, this.faults.arm(tag, fault, Date.now() + holdMs));
      return true;
    }
    const held = /^\/faults\/([\w.-]+)$/.exec(url.pathname);
    if (req.method === 'DELETE' && held?.[1]) {
      reply(res, 200, { released: this.faults.disarm(held[1]) });
      return true;
    }
    return false;
  }

  /**
   * Undoes what a chaos run that died may have left behind: every toxic removed, every link
   * enabled, every paused process continued. Fault flags need no help: they expire by TTL.
   */
  private async heal(): Promise<string[]> {
    const healed: string[] = [];
    const toxiproxy = new ToxiproxyClient();
    for (const proxy of Object.values(await toxiproxy.proxies())) {
      if (!proxy.enabled || proxy.toxics.length > 0) healed.push(`link ${proxy.name}`);
    }
    await toxiproxy.reset();
    for (const held of this.faults.list()) this.faults.disarm(held.tag); // healed just now
    for (const proc of this.supervisor.status().filter((p) => p.state === 'paused')) {
      this.supervisor.signal(proc.name, 'SIGCONT');
      healed.push(`process ${proc.name}`);
    }
    if (healed.length > 0) log('lab.healed', { healed });
    return healed;
  }

  /** Stops everything, removes the state file and exits. Safe to call twice. */
  async down(exitCode = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log('lab.stopping');
    await new Promise<void>((r) => (this.gateway ? this.gateway.close(() => r()) : r()));
    this.gateway?.closeAllConnections();
    await this.supervisor.stopAll();
    rmSync(labStateFile(this.paths), { force: true });
    await new Promise<void>((r) => (this.control ? this.control.close(() => r()) : r()));
    this.control?.closeAllConnections();
    log('lab.stopped');
    process.exit(exitCode);
  }
}

/** Entry point when run as the daemon process. */
export async function main(): Promise<void> {
  const daemon = new LabDaemon();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => void daemon.down());
  try {
    await daemon.up();
  } catch (error) {
    log('lab.failed', { error: (error as Error).message });
    await daemon.down(1);
  }
}
