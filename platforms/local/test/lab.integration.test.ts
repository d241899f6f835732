import { readFileSync, statSync } from 'node:fs';
import t from 'tap';
import {
  adminTokenFile,
  healLab,
  labPaths,
  labStatus,
  labUp,
  linkRoundTrip,
  medianRoundTrip,
  readLabState,
  signalProcess,
  ToxiproxyClient,
  waitFor,
} from '../src/index.js';

// These tests run against the shared lab that tap's before-hook brought up (test/support). They
// pick their target from the running lab: a service and its link to a cache or database.

const paths = labPaths();
const toxiproxy = new ToxiproxyClient();

function lab() {
  const state = readLabState(paths);
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}

function target() {
  const state = lab();
  const link = state.links.find((l) => l.to === 'redis') ?? state.links.find((l) => l.to === 'postgres');
  if (!link) throw new Error('no service with a cache or database link in the lab');
  const service = state.services.find((s) => s.name === link.from);
  if (!service) throw new Error(`${link.from} is not in the lab`);
  return { link, service };
}

/** The health of the target service, through the gateway. */
async function healthStatus(timeoutMs = 5000): Promise<number> {
  const res = await fetch(target().service.health, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.status;
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
    ...lab().services.map((s) => s.name),
    'toxiproxy',
    'postgres',
    'redis',
    'mongo',
    'aws',
    'aws-sqs',
    'payment-gateway',
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
    const { link } = target();
    // Prepare: the baseline of one real round trip across the link (a Redis PING, a PostgreSQL
    // SSLRequest: the bytes the service's own client waits for)
    const baseline = await medianRoundTrip(link, 15);
    t.ok(baseline < 50, `baseline round trip across ${link.name} is small (${baseline} ms)`);

    // Act: slow the answers on the link
    await toxiproxy.addToxic(link.name, {
      name: 'test-latency',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: INJECTED_MS, jitter: 0 },
    });
    let slowed: number;
    try {
      slowed = await medianRoundTrip(link, 15);
    } finally {
      await toxiproxy.removeToxic(link.name, 'test-latency');
    }
    const restored = await medianRoundTrip(link, 15);

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

t.test('a disabled link refuses calls across it, and enabling it restores them', async (t) => {
  const { link } = target();
  await toxiproxy.setEnabled(link.name, false);
  try {
    await t.rejects(linkRoundTrip(link, 2000), 'a call across the cut link fails');
  } finally {
    await toxiproxy.setEnabled(link.name, true);
  }
  t.ok((await linkRoundTrip(link)) >= 0, 'the link answers again');
  await waitFor(`${link.from} to be healthy`, async () => (await healthStatus()) === 200);
  t.pass(`${link.from} is healthy once the link is back`);
});

t.test('a killed service is restarted by the supervisor and serves again', async (t) => {
  // Prepare
  const name = target().service.name;
  const before = (await labStatus())?.processes.find((p) => p.name === name);
  t.ok(before?.pid, `${name} is running`);

  // Act
  await signalProcess(name, 'SIGKILL');

  // Assess
  await waitFor(`${name} to restart`, async () => {
    const now = (await labStatus())?.processes.find((p) => p.name === name);
    return now?.state === 'running' && now.pid !== before?.pid;
  });
  const after = (await labStatus())?.processes.find((p) => p.name === name);
  t.equal(after?.restarts, (before?.restarts ?? 0) + 1, 'one more restart is counted');
  t.equal(after?.lastExit?.signal, 'SIGKILL', 'the exit is recorded with its signal');
  await waitFor(`${name} to be healthy`, async () => (await healthStatus()) === 200);
  t.pass('the restarted service is healthy');
});

t.test('a paused service stops answering and answers again once continued', async (t) => {
  const name = target().service.name;
  await signalProcess(name, 'SIGSTOP');
  let timedOut = false;
  try {
    await healthStatus(1000);
  } catch {
    timedOut = true;
  } finally {
    await signalProcess(name, 'SIGCONT');
  }
  t.ok(timedOut, 'no answer while paused');
  t.equal(await healthStatus(), 200, 'answers again after SIGCONT');
});

t.test('lab up on a running lab heals what a crashed chaos run left behind', async (t) => {
  // Prepare: a toxic, a cut link and a paused process, as if the orchestrator died mid-fault
  const { link, service } = target();
  const other = lab().links.find((l) => l.name !== link.name) ?? link;
  await toxiproxy.addToxic(link.name, {
    name: 'leftover',
    type: 'latency',
    stream: 'downstream',
    attributes: { latency: 1000 },
  });
  await toxiproxy.setEnabled(other.name, false);
  await signalProcess(service.name, 'SIGSTOP');

  // Act
  const state = await labUp();

  // Assess
  t.equal(state.pid, lab().pid, 'the same lab daemon: no second lab was started');
  const proxies = await toxiproxy.proxies();
  t.same(proxies[link.name]?.toxics, [], 'the leftover toxic is gone');
  t.equal(proxies[other.name]?.enabled, true, 'the cut link is enabled again');
  const proc = (await labStatus())?.processes.find((p) => p.name === service.name);
  t.equal(proc?.state, 'running', 'the paused process is continued');
  t.same(await healLab(), { healed: [] }, 'a second heal finds nothing left');
});

t.test('the control API refuses signals it does not know', async (t) => {
  const token = readFileSync(adminTokenFile(paths), 'utf8').trim();
  const res = await fetch(`${lab().control}/processes/${target().service.name}/signal`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ signal: 'SIGUSR2' }),
  });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { code: 'CAFE_ERR_VALIDATION', message: /signal must be one of/ } });
});

t.test('the admin token file exists with owner-only permissions', async (t) => {
  const file = adminTokenFile(paths);
  const token = readFileSync(file, 'utf8').trim();
  t.ok(token.length >= 32, 'a long random token');
  t.equal(statSync(file).mode & 0o777, 0o600, 'mode 0600');
});
