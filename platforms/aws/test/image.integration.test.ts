import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { HOST, labPaths, PORTS, REPO_ROOT, readLabState, waitFor } from '@cloudcafe/local-platform';
import { buildImageFolder, readSteps } from '@cloudcafe/test-support/image-folder';
import t from 'tap';

// The service image, built the way its Dockerfile says (testing/src/image-folder.ts: every COPY
// into a clean folder, its `npm ci` run there as written), then its CMD started with the menu
// service's settings, pointed at the lab's engines, and asked for its health. What this cannot
// show: the base image itself (the steps run on this machine's Node, so the test checks the base
// is a supported LTS line instead), and the entrypoint's credential assembly (covered by the
// shell it is, on AWS).

const DOCKERFILE = 'platforms/aws/image/service.Dockerfile';
/** The kubernetes platform's fault sweeper; built and run by the Kubernetes driver's tests. */
const SWEEPER_DOCKERFILE = 'platforms/kubernetes/image/sweeper.Dockerfile';
const SERVICE = 'menu';
/** Node lines with security support on 2026-12-01: 22 (maintenance) and 24 (active LTS). */
const SUPPORTED_NODE = [22, 24];

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

t.test('each Dockerfile builds on a supported Node line', async (t) => {
  for (const dockerfile of [DOCKERFILE, SWEEPER_DOCKERFILE]) {
    const { base } = readSteps(readFileSync(join(REPO_ROOT, dockerfile), 'utf8'));
    const major = Number(/^node:(\d+)/.exec(base)?.[1]);
    t.ok(SUPPORTED_NODE.includes(major), `${dockerfile}: ${base} is a supported Node LTS line`);
  }
});

t.test("the Dockerfile's install and start steps give a healthy service in a clean folder", async (t) => {
  const image = buildImageFolder(DOCKERFILE, { SERVICE });
  t.teardown(image.remove);
  const env = { ...process.env, SERVICE, NPM_CONFIG_UPDATE_NOTIFIER: 'false' };

  // Started as the CMD says, with the menu service's settings, against the lab's engines.
  if (!readLabState(labPaths())) throw new Error('the lab is not up');
  const port = await freePort();
  const [command, ...args] = image.steps.cmd;
  const child: ChildProcess = spawn(command as string, args, {
    cwd: image.dir,
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
