import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createAwsClients } from '../../src/aws.js';
import { readMetric, useLocalEmulator } from '../support/emulator.js';
import { eventually, TOKEN } from '../support/fixtures.js';

// Integration: the server entry in its own process, real signals, a real port on 127.0.0.1,
// the lab's CloudWatch emulator for the final flush.
useLocalEmulator();
const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

// A service's thin server entry, as services write it (inline so that tap does not run it as a test).
const ENTRY = `
  import { setTimeout as sleep } from 'node:timers/promises';
  import Type from 'typebox';
  import { loadConfig } from ${JSON.stringify(src('config.ts'))};
  import { buildServiceApp } from ${JSON.stringify(src('fastify/build-app.ts'))};
  import { startServer } from ${JSON.stringify(src('fastify/server.ts'))};

  const config = loadConfig();
  const app = await buildServiceApp({
    service: config.SERVICE_NAME,
    config,
    routes: async (api) => {
      api.get('/slow', { schema: { response: { 200: Type.Object({ done: Type.Boolean() }) } } }, async () => {
        await sleep(400);
        return { done: true };
      });
    },
  });
  await startServer(app);
`;
const entryArgs = ['--import', 'tsx', '--input-type=module', '--eval', ENTRY];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(port: number) {
  const lines: Record<string, unknown>[] = [];
  const child: ChildProcess = spawn(process.execPath, entryArgs, {
    env: {
      ...process.env,
      SERVICE_NAME: 'analytics',
      PORT: String(port),
      ADMIN_TOKEN: TOKEN,
      PLATFORM: 'aws',
      LOG_LEVEL: 'info',
      METRICS_CLOUDWATCH: 'on',
      METRICS_FLUSH_INTERVAL_MS: '300000',
      SHUTDOWN_TIMEOUT_MS: '5000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

t.test('SIGTERM: the in-flight request is answered, metrics flushed once, exit 0', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/api/analytics`;
  const windowStart = new Date(Date.now() - 1000);
  const { child, lines, exited } = start(port);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await eventually(
    () => (lines.some((line) => line.msg === 'analytics listening') ? true : undefined),
    20_000,
  );

  t.equal((await fetch(`${base}/health/ready`)).status, 200);
  for (let i = 0; i < 6; i++) await fetch(`${base}/health/live`);
  const slow = fetch(`${base}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  child.kill('SIGTERM');

  const answered = await slow;
  t.equal(answered.status, 200, 'the request in flight was answered');
  t.same(await answered.json(), { done: true });
  t.equal(await exited, 0, JSON.stringify(lines.filter((line) => Number(line.level) >= 40)));
  const messages = lines.map((line) => line.msg);
  t.ok(messages.includes('shutting down'));
  t.ok(messages.includes('shutdown finished'));

  const aws = createAwsClients({ region: 'us-east-1' });
  t.teardown(() => aws.destroy());
  const requests = await readMetric(aws.cloudwatch, {
    name: 'http_requests_total',
    dimensions: { Service: 'analytics', Platform: 'aws' },
    stat: 'Sum',
    start: windowStart,
    end: new Date(Date.now() + 2000),
  });
  t.same(requests, [8], 'every request, flushed once at shutdown');
});

t.test('the process refuses to start with a bad configuration, naming the variable', async (t) => {
  const child = spawn(process.execPath, entryArgs, {
    env: { ...process.env, SERVICE_NAME: 'analytics', PORT: '99999', ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

  t.not(code, 0);
  t.match(stderr, 'PORT: must be an integer between 1 and 65535');
});
