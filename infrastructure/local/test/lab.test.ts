import { readFileSync, statSync } from 'node:fs';
import t from 'tap';
import {
  adminTokenFile,
  healLab,
  labPaths,
  labStatus,
  labUp,
  readLabState,
  signalProcess,
  ToxiproxyClient,
  waitFor,
} from '../src/index.js';

// These tests run against the shared lab that tap's before-hook brought up (test/support).

const paths = labPaths();
const toxiproxy = new ToxiproxyClient();
const LINK = 'placeholder-to-redis';

function lab() {
  const state = readLabState(paths);
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** The Redis round trip across the placeholder-to-redis link, as the service measures it. */
async function redisMs(): Promise<number> {
  const res = await fetch(`${lab().gateway}/api/placeholder/dependencies`, {
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`dependencies answered ${res.status}`);
  return ((await res.json()) as { redisMs: number }).redisMs;
}

async function medianRedisMs(samples = 15): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) xs.push(await redisMs());
  return median(xs);
}

t.test('every service present answers its health check through the gateway', async (t) => {
  // Prepare
  const { services, gateway } = lab();
  t.ok(services.length > 0, 'the lab runs at least one service');
  for (const service of services) {
    // Act
    const res = await fetch(service.health);
    const body = (await res.json()) as { status: string };
    // Assess
    t.equal(res.status, 200, `${service.name} is healthy`);
    t.equal(body.status, 'ok');
    t.ok(service.health.startsWith(gateway), `${service.name} health goes through the gateway`);
  }
});

t.test('the gateway answers unknown routes with a 404 and a stable code', async (t) => {
  const res = await fetch(`${lab().gateway}/api/nope/health`);
  t.equal(res.status, 404);
  t.match(await res.json(), { error: { code: 'CAFE_ERR_NOT_FOUND' } });
});

t.test('status lists every process running and every link in Toxiproxy', async (t) => {
  const status = await labStatus();
  t.ok(status?.ready, 'the lab says it is ready');
  for (const p of status?.processes ?? []) t.equal(p.state, 'running', `${p.name} is running`);
  const names = (status?.processes ?? []).map((p) => p.name);
  for (const name of [
    'toxiproxy',
    'postgres',
    'redis',
    'mongo',
    'aws',
    'aws-sqs',
    'payment-gateway',
    'placeholder',
  ]) {
    t.ok(names.includes(name), `${name} is supervised`);
  }
  const proxies = await toxiproxy.proxies();
  for (const link of lab().links) {
    t.equal(proxies[link.name]?.listen, `127.0.0.1:${link.listenPort}`, `${link.name} is a Toxiproxy proxy`);
  }
});

t.test(
  'a latency toxic on a link raises a call across it by the injected amount, and removing it restores it',
  async (t) => {
    const INJECTED_MS = 200;
    // Prepare: the baseline
    const baseline = await medianRedisMs();
    t.ok(baseline < 50, `baseline Redis round trip is small (${baseline} ms)`);

    // Act: slow the responses on the link
    await toxiproxy.addToxic(LINK, {
      name: 'test-latency',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: INJECTED_MS, jitter: 0 },
    });
    let slowed: number;
    try {
      slowed = await medianRedisMs();
    } finally {
      await toxiproxy.removeToxic(LINK, 'test-latency');
    }
    const restored = await medianRedisMs();

    // Assess: the increase is the injected amount ±20%; afterwards the baseline is back
    const increase = slowed - baseline;
    t.ok(
      increase >= INJECTED_MS * 0.8 && increase <= INJECTED_MS * 1.2,
      `increase ${increase.toFixed(1)} ms is within 20% of ${INJECTED_MS} ms (baseline ${baseline}, slowed ${slowed})`,
    );
    t.ok(
      restored < baseline + INJECTED_MS * 0.2,
      `restored ${restored} ms is back near the baseline ${baseline} ms`,
    );
  },
);

t.test('a disabled link fails the calls across it, and the service health says which', async (t) => {
  await toxiproxy.setEnabled(LINK, false);
  try {
    const res = await fetch(`${lab().gateway}/api/placeholder/health`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { checks: Record<string, { status: 'ok' | 'fail' }> };
    t.equal(res.status, 503, 'health is 503 while Redis is cut off');
    t.equal(body.checks.redis?.status, 'fail', 'the redis check is the failing one');
    t.equal(body.checks.postgres?.status, 'ok', 'postgres is still fine');
  } finally {
    await toxiproxy.setEnabled(LINK, true);
  }
  await waitFor('placeholder health to recover', async () => {
    const res = await fetch(`${lab().gateway}/api/placeholder/health`);
    return res.status === 200;
  });
  t.pass('health is back to 200 once the link is enabled');
});

t.test('a killed service is restarted by the supervisor and serves again', async (t) => {
  // Prepare
  const before = (await labStatus())?.processes.find((p) => p.name === 'placeholder');
  t.ok(before?.pid, 'placeholder is running');

  // Act
  await signalProcess('placeholder', 'SIGKILL');

  // Assess
  await waitFor('placeholder to restart', async () => {
    const now = (await labStatus())?.processes.find((p) => p.name === 'placeholder');
    return now?.state === 'running' && now.pid !== before?.pid;
  });
  const after = (await labStatus())?.processes.find((p) => p.name === 'placeholder');
  t.equal(after?.restarts, (before?.restarts ?? 0) + 1, 'one more restart is counted');
  t.equal(after?.lastExit?.signal, 'SIGKILL', 'the exit is recorded with its signal');
  const res = await fetch(`${lab().gateway}/api/placeholder/health`);
  t.equal(res.status, 200, 'the restarted service is healthy');
});

t.test('a paused service stops answering and answers again once continued', async (t) => {
  await signalProcess('placeholder', 'SIGSTOP');
  let timedOut = false;
  try {
    await fetch(`${lab().gateway}/api/placeholder/health`, { signal: AbortSignal.timeout(1000) });
  } catch {
    timedOut = true;
  } finally {
    await signalProcess('placeholder', 'SIGCONT');
  }
  t.ok(timedOut, 'no answer while paused');
  const res = await fetch(`${lab().gateway}/api/placeholder/health`, { signal: AbortSignal.timeout(5000) });
  t.equal(res.status, 200, 'answers again after SIGCONT');
});

t.test('lab up on a running lab heals what a crashed chaos run left behind', async (t) => {
  // Prepare: a toxic, a cut link and a paused process, as if the orchestrator died mid-fault
  await toxiproxy.addToxic(LINK, {
    name: 'leftover',
    type: 'latency',
    stream: 'downstream',
    attributes: { latency: 1000 },
  });
  await toxiproxy.setEnabled('placeholder-to-postgres', false);
  await signalProcess('placeholder', 'SIGSTOP');

  // Act
  const state = await labUp();

  // Assess
  t.equal(state.pid, lab().pid, 'the same lab daemon: no second lab was started');
  const proxies = await toxiproxy.proxies();
  t.same(proxies[LINK]?.toxics, [], 'the leftover toxic is gone');
  t.equal(proxies['placeholder-to-postgres']?.enabled, true, 'the cut link is enabled again');
  const placeholder = (await labStatus())?.processes.find((p) => p.name === 'placeholder');
  t.equal(placeholder?.state, 'running', 'the paused process is continued');
  t.same(await healLab(), { healed: [] }, 'a second heal finds nothing left');
});

t.test('the control API refuses signals it does not know', async (t) => {
  const res = await fetch(`${lab().control}/processes/placeholder/signal`, {
    method: 'POST',
    body: JSON.stringify({ signal: 'SIGUSR2' }),
  });
  t.equal(res.status, 400);
});

t.test('the admin token file exists with owner-only permissions', async (t) => {
  const file = adminTokenFile(paths);
  const token = readFileSync(file, 'utf8').trim();
  t.ok(token.length >= 32, 'a long random token');
  t.equal(statSync(file).mode & 0o777, 0o600, 'mode 0600');
});
