import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST, labPaths, PORTS, readLabState, waitFor } from '@cloudcafe/local-platform';
import t from 'tap';
import { REPO_ROOT } from '../src/kustomize.js';

// The service image, built the way its Dockerfile says, without a Docker engine (none runs
// here): every COPY of the Dockerfile into a clean folder, its `npm ci` line run there as
// written, then its CMD started with the menu service's settings, pointed at the lab's engines,
// and asked for its health. What this cannot show: the base image itself (the steps run on this
// machine's Node, so the test checks the base is a supported LTS line instead), and the
// entrypoint's credential assembly (covered by the shell it is, on AWS).

const DOCKERFILE = join(REPO_ROOT, 'platforms/aws/image/service.Dockerfile');
const SERVICE = 'menu';
/** Node lines with security support on 2026-12-01: 22 (maintenance) and 24 (active LTS). */
const SUPPORTED_NODE = [22, 24];

interface Steps {
  readonly base: string;
  readonly copies: readonly { from: string; to: string }[];
  readonly install: string;
  readonly cmd: string;
}

/** The FROM, the COPYs into the app folder, the npm ci RUN and the CMD, as the Dockerfile has them. */
function readSteps(text: string): Steps {
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const arg = (instruction: string) =>
    lines.filter((l) => l.startsWith(`${instruction} `)).map((l) => l.slice(instruction.length + 1).trim());
  const copies = arg('COPY')
    .map((c) => c.split(/\s+/))
    .filter((parts) => !parts.some((p) => p.startsWith('/'))) // the entrypoint goes outside /app
    .flatMap((parts) => parts.slice(0, -1).map((from) => ({ from, to: parts.at(-1) as string })));
  const install = arg('RUN').find((r) => r.startsWith('npm ci'));
  const cmd = arg('CMD')[0];
  if (!install || !cmd) throw new Error('the Dockerfile has no `RUN npm ci …` or no CMD');
  return { base: arg('FROM')[0] ?? '', copies, install, cmd };
}

/** A loopback port nothing listens on, from the OS. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

t.test('the Dockerfile builds on a supported Node line', async (t) => {
  const { base } = readSteps(readFileSync(DOCKERFILE, 'utf8'));
  const major = Number(/^node:(\d+)/.exec(base)?.[1]);
  t.ok(SUPPORTED_NODE.includes(major), `${base} is a supported Node LTS line`);
});

t.test("the Dockerfile's install and start steps give a healthy service in a clean folder", async (t) => {
  const steps = readSteps(readFileSync(DOCKERFILE, 'utf8'));
  const app = mkdtempSync(join(tmpdir(), 'cloudcafe-image-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  for (const { from, to } of steps.copies) {
    cpSync(join(REPO_ROOT, from), join(app, to, to.endsWith('/') ? from : ''), {
      recursive: true,
      // what .dockerignore keeps out of the build context
      filter: (src) => !src.includes('/node_modules') && !src.includes('/test/'),
    });
  }
  const env = {
    ...process.env,
    SERVICE,
    NPM_CONFIG_UPDATE_NOTIFIER: 'false',
    npm_config_prefer_offline: 'true',
  };
  execFileSync('sh', ['-c', steps.install], { cwd: app, env, stdio: 'pipe', timeout: 300_000 });

  // Started as the CMD says, with the menu service's settings, against the lab's engines.
  if (!readLabState(labPaths())) throw new Error('the lab is not up');
  const port = await freePort();
  const [command, ...args] = JSON.parse(steps.cmd) as string[];
  const child: ChildProcess = spawn(command as string, args, {
    cwd: app,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...env,
      SERVICE_NAME: SERVICE,
      HOST,
      PORT: String(port),
      ADMIN_TOKEN: 'image-test-admin-token-0123456789',
      LOG_LEVEL: 'warn',
      METRICS_CLOUDWATCH: 'off',
      MONGO_URL: `mongodb://${HOST}:${PORTS.mongo}/cloudcafe`,
      REDIS_URL: `redis://${HOST}:${PORTS.redis}`,
    },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk}`.slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const base = `http://${HOST}:${port}/api/${SERVICE}`;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await waitFor(
    'the service from the image folder to answer',
    async () => {
      if (gone) throw new Error(`the service exited: ${stderr}`);
      return (await fetch(`${base}/health/live`).catch(() => undefined))?.ok === true;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  const ready = await fetch(`${base}/health/ready`);
  t.equal(ready.status, 200, 'ready: its engines answer');
  const items = await fetch(`${base}/items?limit=1`);
  t.equal(items.status, 200, 'and it serves the menu');
});
