import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, join } from 'node:path';
import { HOST, labPaths, KUBE_CONTROL_PLANE_PORTS as PORTS, waitFor } from '@cloudcafe/local-platform';

/**
 * A real Kubernetes control plane for the Kubernetes driver's tests: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler as built by scripts/bootstrap-kube, and kwok, which
 * plays the kubelets of simulated nodes (a pod is bound by the real scheduler, then kwok marks
 * it Running and Ready). Everything listens on 127.0.0.1 only, on KUBE_CONTROL_PLANE_PORTS.
 *
 * What it cannot show, and the tests name: kwok pods run no containers (a deleted pod has no
 * process to stop, readiness is kwok's, not a probe's), and there is no CNI (a NetworkPolicy is
 * validated and stored by the API server but never enforced).
 */

/** The context the written kubeconfig names; the driver is pointed at it explicitly. */
export const CONTEXT = 'cloudcafe-control-plane';
/** The one simulated node; every pod of the tests is scheduled onto it. */
export const NODE = 'kwok-node-0';

// Generous bounds on a shared, loaded machine: each is a ceiling for an event, never a pace.
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 120_000;

export interface Versions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly kwok: string;
  readonly kubectl: string;
}

export interface ControlPlane {
  readonly server: string;
  /** Path of a kubeconfig whose context CONTEXT reaches the API server as cluster-admin. */
  readonly kubeconfig: string;
  readonly versions: Versions;
  /**
   * Path of a kubeconfig that reaches the API server as a ServiceAccount, with a token the API
   * server issues for it (TokenRequest): what a pod running as that account would hold.
   */
  kubeconfigAs(namespace: string, serviceAccount: string): Promise<string>;
  /** Runs the built kubectl against this control plane; rejects with its stderr on failure. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /**
   * Every request the API server has answered so far for the admin user, from its own audit
   * log: what a test asserts about the calls the driver made, as the real server saw them.
   */
  audited(): Promise<AuditEvent[]>;
  stop(): Promise<void>;
}

/** The fields of an audit.k8s.io/v1 Event the tests read. */
export interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly userAgent?: string;
  readonly objectRef?: { readonly resource?: string; readonly namespace?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
  readonly requestObject?: unknown;
}

/** The user the tests, kubectl and the driver act as. */
const ADMIN_USER = 'cloudcafe-admin';

/** Who the harness's own audit marker comes from, so tests can tell it from the driver. */
const HARNESS_AGENT = 'cloudcafe-test-harness';

interface Tools {
  readonly bin: (name: string) => string;
  readonly stages: string;
}

/** The binaries scripts/bootstrap-kube wrote under $CLOUDCAFE_TOOLS_DIR/kube. */
export function kubeTools(): Tools {
  const dir = join(dirname(labPaths().toolsBin), 'kube');
  const missing = [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kubectl',
    'kwok',
  ].filter((b) => !existsSync(join(dir, 'bin', b)));
  if (missing.length > 0 || !existsSync(join(dir, 'stages'))) {
    throw new Error(
      `the Kubernetes control plane is not built (missing in ${dir}: ${missing.join(', ') || 'stages'}); run \`bash scripts/bootstrap-kube\` (25 to 50 minutes the first time)`,
    );
  }
  return { bin: (name) => join(dir, 'bin', name), stages: join(dir, 'stages') };
}

// ── processes ─────────────────────────────────────────────────────────────────────────────

interface Running {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

function launch(name: string, bin: string, args: readonly string[], logDir: string): Running {
  const log = join(logDir, `${name}.log`);
  const out = createWriteStream(log);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { name, child, log };
}

const lastLines = (file: string, n = 15) =>
  readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');

/** Waits for `probe`, failing at once (with the log's tail) if the process died meanwhile. */
async function ready(p: Running, probe: () => Promise<boolean>): Promise<void> {
  await waitFor(
    `${p.name} to answer`,
    async () => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${lastLines(p.log)}`);
      }
      return probe().catch(() => false);
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 },
  );
}

async function terminate(p: Running): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const late = setTimeout(() => p.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(late);
}

/** Runs a command to completion; rejects with its output when it fails or outlives its bound. */
export function run(bin: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(
            new Error(`${bin} ${args.join(' ')}: exit ${code ?? signal}\n${stderr.trim() || stdout.trim()}`),
          ),
    );
    child.stdin.end(input ?? '');
  });
}

// ── probes ────────────────────────────────────────────────────────────────────────────────

interface Answer {
  readonly status: number;
  readonly body: string;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Answer> {
  const transport = url.startsWith('https:') ? https : http;
  const headers = { 'user-agent': HARNESS_AGENT, ...options.headers };
  return new Promise((resolve, reject) => {
    const req = transport.get(url, { ...options, headers, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.on('error', reject);
  });
}

/**
 * The controller-manager and the scheduler serve /healthz with a certificate they make up in
 * memory at start; nothing can verify it, and the probe only asks whether they are serving.
 */
const healthy =
  (url: string, options: https.RequestOptions = { rejectUnauthorized: false }) =>
  async () => {
    const a = await get(url, options);
    return a.status === 200 && a.body.trim() === 'ok';
  };

// ── configuration files ───────────────────────────────────────────────────────────────────

interface Credentials {
  /** The admin user's: the tests, kubectl and the driver; the one the audit log records. */
  readonly token: string;
  /** The controller-manager's, the scheduler's and kwok's, so their calls stay out of the log. */
  readonly componentsToken: string;
  readonly tokenFile: string;
  readonly saKey: string;
  readonly saPub: string;
}

/** Static tokens (group system:masters) and the service-account signing keys. */
function writeCredentials(dir: string): Credentials {
  const token = randomBytes(24).toString('hex');
  const componentsToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    `${token},${ADMIN_USER},${ADMIN_USER},"system:masters"\n${componentsToken},cloudcafe-components,cloudcafe-components,"system:masters"\n`,
    { mode: 0o600 },
  );
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  return { token, componentsToken, tokenFile, saKey, saPub };
}

/**
 * Records the admin user's requests with their bodies; the controllers', kwok's and the
 * scheduler's (other users) are left out. Written once a request completes, so an answered
 * call is always in the log before the next call starts.
 */
function writeAuditPolicy(file: string): void {
  writeFileSync(
    file,
    `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Request
    users: [${ADMIN_USER}]
  - level: None
`,
  );
}

/**
 * The audit log up to now: a marker request is sent and the log read until it shows, so
 * every request answered before the call is in what is returned (blocking audit mode).
 */
async function readAudit(file: string, server: string, ca: Buffer, token: string): Promise<AuditEvent[]> {
  const marker = `/version?audit-marker=${randomBytes(6).toString('hex')}`;
  await get(`${server}${marker}`, { ca, headers: { authorization: `Bearer ${token}` } });
  let events: AuditEvent[] = [];
  await waitFor(
    'the audit log to show the marker request',
    async () => {
      events = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditEvent);
      return events.some((e) => e.requestURI === marker);
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return events.filter((e) => e.userAgent !== HARNESS_AGENT);
}

function writeKubeconfig(
  file: string,
  server: string,
  caFile: string,
  token: string,
  user = ADMIN_USER,
): void {
  const ca = readFileSync(caFile).toString('base64');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
  - name: ${CONTEXT}
    cluster: { server: "${server}", certificate-authority-data: ${ca} }
users:
  - name: ${user}
    user: { token: ${token} }
contexts:
  - name: ${CONTEXT}
    context: { cluster: ${CONTEXT}, user: ${user}, namespace: default }
current-context: ${CONTEXT}
`,
    { mode: 0o600 },
  );
}

/**
 * kwok's configuration and its stages in one multi-document file. Every parallelism is set:
 * left out, v0.8.0 exits "node leases parallelism must be greater than 0" (NOTES.md). The
 * server address is pinned to loopback; by default kwok would listen on every interface.
 */
function writeKwokConfig(file: string, stagesDir: string): void {
  const options = {
    manageAllNodes: true,
    cidr: '10.0.0.1/24',
    nodeIP: '10.0.0.1',
    serverAddress: `${HOST}:${PORTS.kwok}`,
    podPlayStageParallelism: 4,
    nodePlayStageParallelism: 4,
    nodeLeaseParallelism: 4,
    nodeLeaseDurationSeconds: 40,
    podsOnNodeSyncParallelism: 1,
    enablePodsOnNodeSyncListPager: true,
    enablePodsOnNodeSyncStreamWatch: true,
  };
  const config = `apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: ${JSON.stringify(options)}\n`;
  const stages = readdirSync(stagesDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readFileSync(join(stagesDir, f), 'utf8').trim());
  writeFileSync(file, [config, ...stages].join('\n---\n'));
}

// ── the control plane ─────────────────────────────────────────────────────────────────────

const kubeVersion = async (bin: string) => (await run(bin, ['--version'])).trim().replace(/^Kubernetes /, '');

async function readVersions(tools: Tools, server: string, token: string, caFile: string): Promise<Versions> {
  const api = JSON.parse(
    (
      await get(`${server}/version`, {
        ca: readFileSync(caFile),
        headers: { authorization: `Bearer ${token}` },
      })
    ).body,
  ) as { gitVersion: string };
  const etcd = JSON.parse((await get(`http://${HOST}:${PORTS.etcdClient}/version`)).body) as {
    etcdserver: string;
  };
  const kwok = (await run(tools.bin('kwok'), ['--version'])).trim();
  const kubectl = JSON.parse(await run(tools.bin('kubectl'), ['version', '--client', '-o', 'json'])) as {
    clientVersion: { gitVersion: string };
  };
  const [cm, sched] = await Promise.all([
    kubeVersion(tools.bin('kube-controller-manager')),
    kubeVersion(tools.bin('kube-scheduler')),
  ]);
  return {
    kubernetes: `kube-apiserver ${api.gitVersion}, kube-controller-manager ${cm}, kube-scheduler ${sched}`,
    etcd: `etcd ${etcd.etcdserver}`,
    kwok,
    kubectl: `kubectl ${kubectl.clientVersion.gitVersion}`,
  };
}

function etcdArgs(dataDir: string): string[] {
  const client = `http://${HOST}:${PORTS.etcdClient}`;
  const peer = `http://${HOST}:${PORTS.etcdPeer}`;
  return [
    '--name=cloudcafe',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=cloudcafe=${peer}`,
    // a test cluster's data is thrown away after the run: durability buys nothing here
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

function apiServerArgs(dir: string, c: Credentials): string[] {
  const policy = join(dir, 'audit-policy.yaml');
  writeAuditPolicy(policy);
  return [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${join(dir, 'audit.log')}`,
    '--audit-log-format=json',
    '--audit-log-mode=blocking',
    `--etcd-servers=http://${HOST}:${PORTS.etcdClient}`,
    `--bind-address=${HOST}`,
    `--advertise-address=${HOST}`,
    `--secure-port=${PORTS.apiServer}`,
    // self-signed serving certificate for 127.0.0.1, with its CA, written here at start
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${c.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${c.saPub}`,
    `--service-account-signing-key-file=${c.saKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    // the default reconciler would publish 127.0.0.1 as the `kubernetes` Service's endpoint,
    // which the API refuses (loopback) and retries forever; no pod here calls it anyway
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

/** Flags the controller-manager and the scheduler share: the API, delegated auth, loopback. */
function componentArgs(kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${HOST}`,
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

/** The apiserver writes its self-signed certificate and CA under --cert-dir once it serves. */
function certificateAuthority(dir: string): string {
  const certs = join(dir, 'certs');
  const ca = readdirSync(certs).find((f) => f.endsWith('-ca.crt')) ?? 'apiserver.crt';
  return join(certs, ca);
}

/**
 * Starts the control plane from a clean state folder and resolves once every part answers its
 * health check and the simulated node is Ready. The caller must `stop()` it; a process that
 * exits early fails the start with its log's last lines.
 */
export async function startControlPlane(stateDir = join(labPaths().stateDir, 'kube')): Promise<ControlPlane> {
  const tools = kubeTools();
  rmSync(stateDir, { recursive: true, force: true });
  const logDir = join(stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const creds = writeCredentials(stateDir);
  const kubeconfig = join(stateDir, 'kubeconfig');
  const server = `https://${HOST}:${PORTS.apiServer}`;
  const running: Running[] = [];
  const stop = async () => {
    for (const p of running.reverse()) await terminate(p);
  };
  // a test that crashes must not leave a control plane behind
  const kill = () => {
    for (const p of running) p.child.kill('SIGKILL');
  };
  process.once('exit', kill);

  try {
    const etcd = launch('etcd', tools.bin('etcd'), etcdArgs(join(stateDir, 'etcd')), logDir);
    running.push(etcd);
    await ready(
      etcd,
      async () => JSON.parse((await get(`http://${HOST}:${PORTS.etcdClient}/health`)).body).health === 'true',
    );

    const api = launch('kube-apiserver', tools.bin('kube-apiserver'), apiServerArgs(stateDir, creds), logDir);
    running.push(api);
    await ready(api, healthy(`${server}/readyz`));
    const caFile = certificateAuthority(stateDir);
    writeKubeconfig(kubeconfig, server, caFile, creds.token);
    const components = join(stateDir, 'components.kubeconfig');
    writeKubeconfig(components, server, caFile, creds.componentsToken);

    const cm = launch(
      'kube-controller-manager',
      tools.bin('kube-controller-manager'),
      [
        ...componentArgs(components, PORTS.controllerManager),
        `--service-account-private-key-file=${creds.saKey}`,
        `--root-ca-file=${caFile}`,
      ],
      logDir,
    );
    running.push(cm);
    const sched = launch(
      'kube-scheduler',
      tools.bin('kube-scheduler'),
      componentArgs(components, PORTS.scheduler),
      logDir,
    );
    running.push(sched);
    const kwokConfig = join(stateDir, 'kwok.yaml');
    writeKwokConfig(kwokConfig, tools.stages);
    const kwok = launch(
      'kwok',
      tools.bin('kwok'),
      [`--kubeconfig=${components}`, `--config=${kwokConfig}`],
      logDir,
    );
    running.push(kwok);
    await Promise.all([
      ready(cm, healthy(`https://${HOST}:${PORTS.controllerManager}/healthz`)),
      ready(sched, healthy(`https://${HOST}:${PORTS.scheduler}/healthz`)),
      ready(kwok, healthy(`http://${HOST}:${PORTS.kwok}/healthz`, {})),
    ]);

    const kubectl = (args: readonly string[], input?: string) =>
      run(tools.bin('kubectl'), [`--kubeconfig=${kubeconfig}`, `--context=${CONTEXT}`, ...args], input);
    await addNode(kubectl);
    const versions = await readVersions(tools, server, creds.token, caFile);
    const kubeconfigAs = async (namespace: string, serviceAccount: string) => {
      const token = (await kubectl(['-n', namespace, 'create', 'token', serviceAccount])).trim();
      const file = join(stateDir, `${namespace}.${serviceAccount}.kubeconfig`);
      writeKubeconfig(file, server, caFile, token, serviceAccount);
      return file;
    };
    return {
      server,
      kubeconfig,
      versions,
      kubeconfigAs,
      kubectl,
      audited: () => readAudit(join(stateDir, 'audit.log'), server, readFileSync(caFile), creds.token),
      stop: async () => {
        await stop();
        process.off('exit', kill);
      },
    };
  } catch (e) {
    await stop();
    process.off('exit', kill);
    throw e;
  }
}

/** One simulated node; kwok (manageAllNodes) gives it a status, a lease and Ready. */
async function addNode(kubectl: ControlPlane['kubectl']): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE,
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'kubernetes.io/hostname': NODE,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': 'zone-a',
        type: 'kwok',
      },
    },
  };
  await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(node));
  await kubectl(['wait', '--for=condition=Ready', `node/${NODE}`, `--timeout=${READY_TIMEOUT_MS / 1000}s`]);
}
