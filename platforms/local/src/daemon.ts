import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { type AdminAuth, createAdminAuth } from '@cloudcafe/kit';
import { ENGINES } from './engines/index.js';
import type { LabPaths } from './engines/types.js';
import { FaultDeadlines, parseHeldFault } from './fault-deadlines.js';
import { createGateway, PUBLIC_PATHS } from './gateway.js';
import { lambdaRuntimeFor } from './lambda-runtime/process-spec.js';
import {
  adminTokenFile,
  ensureDir,
  ensureSecretFile,
  labPaths,
  labStateFile,
  serviceTokenFile,
} from './paths.js';
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

/** The service's own health endpoint, asked directly rather than through the gateway. */
const healthUrl = (service: ServiceDefinition): string =>
  `http://${HOST}:${SERVICE_PORTS[service.name]}/api/${PUBLIC_PATHS[service.name]}/health`;

/** The largest control request body: a signal name fits many times over. */
export const CONTROL_BODY_LIMIT = 16 * 1024;

/** A refusal of the control API: its status and stable code, answered as `{error: {code, message}}`. */
class ControlRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The control API can stop the lab and SIGSTOP its databases, so it trusts only the admin
 * token. A request carrying `Origin` comes from a browser page (any site the SRE has open can
 * aim a form or `fetch` at 127.0.0.1): refused whatever else it carries. A body must be JSON,
 * which a page cannot send cross-origin without a preflight this server never answers.
 */
function admitControl(req: IncomingMessage, auth: AdminAuth): void {
  if (req.headers.origin !== undefined) {
    throw new ControlRefusal(401, 'CAFE_ERR_UNAUTHORIZED', 'cross-origin requests are refused');
  }
  if (!auth.verify(req.headers.authorization)) {
    throw new ControlRefusal(
      401,
      'CAFE_ERR_UNAUTHORIZED',
      'send the admin token as Authorization: Bearer <token>',
    );
  }
  if (req.method === 'POST' && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw new ControlRefusal(415, 'CAFE_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  }
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > CONTROL_BODY_LIMIT) throw tooLarge();
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > CONTROL_BODY_LIMIT) throw tooLarge();
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new ControlRefusal(400, 'CAFE_ERR_MALFORMED_BODY', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ControlRefusal(400, 'CAFE_ERR_MALFORMED_BODY', 'the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

const tooLarge = () =>
  new ControlRefusal(
    413,
    'CAFE_ERR_PAYLOAD_TOO_LARGE',
    `the body is larger than ${CONTROL_BODY_LIMIT} bytes`,
  );

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, error: Error): void {
  const refusal =
    error instanceof ControlRefusal ? error : new ControlRefusal(400, 'CAFE_ERR_BAD_REQUEST', error.message);
  // A refused request may still be sending its body: close instead of reading it.
  res.setHeader('connection', 'close');
  reply(res, refusal.status, { error: { code: refusal.code, message: refusal.message } });
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
    const tokenFile = ensureSecretFile(adminTokenFile(paths));
    const secrets = {
      adminTokenFile: tokenFile,
      serviceTokenFile: ensureSecretFile(serviceTokenFile(paths)),
    };
    const startedAt = new Date().toISOString();
    // Answer status while starting, so `lab up` can show progress and `lab down` can stop us.
    this.control = await this.listenControl(createAdminAuth(readFileSync(tokenFile, 'utf8').trim()));

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
      const env = serviceEnv(service, links, paths, secrets);
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

  private listenControl(auth: AdminAuth): Promise<Server> {
    const server = createServer((req, res) => {
      try {
        admitControl(req, auth);
      } catch (error) {
        refuse(res, error as Error);
        return;
      }
      this.handleControl(req, res).catch((error: Error) => refuse(res, error));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(PORTS.supervisor, HOST, () => resolve(server));
    });
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    // Every POST body is read, capped and parsed, whether its command uses it or not.
    const body = req.method === 'POST' ? await readBody(req) : {};
    if (req.method === 'GET' && url.pathname === '/status') {
      reply(res, 200, {
        ready: this.state !== undefined,
        state: this.state,
        processes: this.supervisor.status(),
        faults: this.faults.list(),
      });
      return;
    }
    if (this.handleFaults(req, res, url, body)) return;
    const signal = /^\/processes\/([\w-]+)\/signal$/.exec(url.pathname);
    if (req.method === 'POST' && signal?.[1]) {
      const sig = body.signal as ControlSignal;
      if (!SIGNALS.includes(sig)) {
        refuse(
          res,
          new ControlRefusal(400, 'CAFE_ERR_VALIDATION', `signal must be one of ${SIGNALS.join(', ')}`),
        );
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
    refuse(
      res,
      new ControlRefusal(404, 'CAFE_ERR_NOT_FOUND', `no control route ${req.method} ${url.pathname}`),
    );
  }

  /**
   * `POST /faults` holds a local fault until its deadline (the local driver calls it before it
   * acts); `DELETE /faults/<tag>` releases it once its run reverted it. True when it answered.
   */
  private handleFaults(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Record<string, unknown>,
  ): boolean {
    if (req.method === 'POST' && url.pathname === '/faults') {
      const { tag, fault, holdMs } = parseHeldFault(body);
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
