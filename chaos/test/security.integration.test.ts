import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVICES } from '@cloudcafe/kit';
import { labPaths, readLabState, serviceTokenFile } from '@cloudcafe/local-platform';
import t from 'tap';
import { loadEnvironment, scenarioScript, startK6 } from '../src/k6/index.js';

// Who may do what, tried as an outsider would: through the gateway and the control API of the
// lab tap's before-hook brought up, with and without the credentials the lab generated.

const paths = labPaths();
function lab() {
  const state = readLabState(paths);
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}
const secret = (file: string) => readFileSync(file, 'utf8').trim();
const adminToken = () => secret(lab().adminTokenFile);
const serviceToken = () => secret(serviceTokenFile(paths));
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const JSON_TYPE = { 'content-type': 'application/json' };

async function call(
  base: string,
  method: string,
  path: string,
  init: { headers?: Record<string, string>; body?: string } = {},
) {
  const res = await fetch(`${base}${path}`, { method, ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: { error?: { code?: string; message?: string } } & Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: the status is what is checked
  }
  return { status: res.status, body };
}
const gw = (method: string, path: string, init?: { headers?: Record<string, string>; body?: string }) =>
  call(lab().gateway, method, path, init);
const control = (method: string, path: string, init?: { headers?: Record<string, string>; body?: string }) =>
  call(lab().control, method, path, init);

const present = () => new Set(lab().services.map((s) => s.name as keyof typeof SERVICES));
const segment = (service: keyof typeof SERVICES) => SERVICES[service].segment;

t.test("inventory's reservation routes refuse outsiders and work between services", async (t) => {
  const orderId = `outsider-${process.pid}-${Date.now()}`;
  const reserve = JSON.stringify({ orderId, items: [{ sku: 'AMERICANO-12', quantity: 3 }] });
  const routes: [string, string, string?][] = [
    ['POST', '/api/inventory/reservations', reserve],
    ['GET', `/api/inventory/reservations/${orderId}`],
    ['POST', `/api/inventory/reservations/${orderId}/attach`],
    ['POST', `/api/inventory/reservations/${orderId}/commit`],
    ['POST', `/api/inventory/reservations/${orderId}/release`],
  ];
  for (const [method, path, body] of routes) {
    for (const headers of [{}, bearer('a-guess-that-is-long-enough-0000')]) {
      const res = await gw(method, path, {
        headers: { ...headers, ...(body && JSON_TYPE) },
        ...(body && { body }),
      });
      t.equal(res.status, 401, `${method} ${path} from outside`);
      t.equal(res.body.error?.code, 'CAFE_ERR_UNAUTHORIZED');
    }
  }
  t.equal(
    (await gw('GET', `/api/inventory/reservations/${orderId}`, { headers: bearer(serviceToken()) })).status,
    404,
    'nothing was reserved by the refused calls',
  );

  // Between services: the order service reserves with the credential the lab gave it.
  const placed = await gw('POST', '/api/orders', {
    headers: JSON_TYPE,
    body: JSON.stringify({ customerId: `sec-${process.pid}`, items: [{ sku: 'AMERICANO-12', quantity: 1 }] }),
  });
  t.equal(placed.status, 202, 'an order is accepted: its reservation went through');
  const reservation = await gw('GET', `/api/inventory/reservations/${String(placed.body.orderId)}`, {
    headers: bearer(serviceToken()),
  });
  t.equal(reservation.status, 200, 'the service credential reads the reservation');
  t.match(reservation.body, { orderId: placed.body.orderId, items: [{ sku: 'AMERICANO-12', quantity: 1 }] });
});

t.test('listing every order needs the admin token; one order by id stays public', async (t) => {
  t.equal((await gw('GET', '/api/orders')).status, 401);
  t.equal((await gw('GET', '/api/orders?customerId=someone')).status, 401);
  t.equal((await gw('GET', '/api/orders?limit=1', { headers: bearer(adminToken()) })).status, 200);
});

t.test('the control API takes only the admin token, never a browser page, only JSON bodies', async (t) => {
  const token = bearer(adminToken());
  // The issue's own reproduction, which used to bring the lab down.
  const plain = await control('POST', '/down', { headers: { 'content-type': 'text/plain' }, body: 'x' });
  t.equal(plain.status, 401, 'text/plain without the token');
  t.equal((await control('GET', '/status')).status, 401, 'status without the token');
  t.equal(
    (await control('POST', '/heal', { headers: JSON_TYPE, body: '{}' })).status,
    401,
    'heal without it',
  );
  const signal = await control('POST', `/processes/${lab().services[0]?.name}/signal`, {
    headers: JSON_TYPE,
    body: JSON.stringify({ signal: 'SIGSTOP' }),
  });
  t.equal(signal.status, 401, 'a signal without it');
  const crossOrigin = await control('GET', '/status', {
    headers: { ...token, origin: 'https://example.org' },
  });
  t.equal(crossOrigin.status, 401, 'a cross-origin request, even carrying the token');
  t.equal(crossOrigin.body.error?.code, 'CAFE_ERR_UNAUTHORIZED');
  const notJson = await control('POST', '/heal', {
    headers: { ...token, 'content-type': 'text/plain' },
    body: 'x',
  });
  t.equal(notJson.status, 415, 'a non-JSON body with the token');
  const huge = await control('POST', '/heal', {
    headers: { ...token, ...JSON_TYPE },
    body: JSON.stringify({ pad: 'x'.repeat(64 * 1024) }),
  });
  t.equal(huge.status, 413, 'a body over the cap');
  const status = await control('GET', '/status', { headers: token });
  t.equal(status.status, 200, 'the admin token is let in');
  t.equal(status.body.ready, true, 'and the lab is still up');
});

t.test('an unknown stress knob or flag field is a 400 naming it, on every service', async (t) => {
  const token = bearer(adminToken());
  for (const service of present()) {
    const prefix = `/api/${segment(service)}`;
    const listed = await gw('GET', `${prefix}/stress`, { headers: token });
    const scenarios = (listed.body.scenarios as { name: string }[] | undefined) ?? [];
    t.ok(scenarios.length > 0, `${service} lists its scenarios`);
    for (const { name } of scenarios) {
      const res = await gw('POST', `${prefix}/stress/${name}`, {
        headers: { ...token, ...JSON_TYPE },
        body: JSON.stringify({ durationSec: 5, intensity: 0.2 }),
      });
      t.equal(res.status, 400, `${service} ${name}: unknown knobs refused`);
      t.equal(res.body.error?.code, 'CAFE_ERR_VALIDATION');
      t.match(res.body.error?.message, /durationSec: is not allowed/, 'the message names the knob');
    }
    t.notOk(
      (await gw('GET', `${prefix}/stress`, { headers: token })).body.active,
      `${service}: nothing started`,
    );
    const flag = await gw('PUT', `${prefix}/admin/flags/cache-bypass`, {
      headers: { ...token, ...JSON_TYPE },
      body: JSON.stringify({ variant: 'on', ttlSeconds: 5, ttl: 3600 }),
    });
    t.equal(flag.status, 400, `${service}: an unknown flag field is refused`);
    t.match(flag.body.error?.message, /ttl: is not allowed/);
  }
});

/** Every process's arguments this user can read, by pid. */
function commandLines(): Map<string, string> {
  const lines = new Map<string, string>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      lines.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // the process ended meanwhile
    }
  }
  return lines;
}

t.test('no secret is in any process arguments, k6 under load included', async (t) => {
  const secrets = { 'admin token': adminToken(), 'service credential': serviceToken() };
  const outDir = await mkdtemp(join(tmpdir(), 'cloudcafe-sec-k6-'));
  const run = startK6({
    script: scenarioScript('smoke'),
    outDir,
    scriptEnv: loadEnvironment({ runTag: 'security-test' }),
    onOutput: () => {},
  });
  t.teardown(() => run.stop());
  const k6Pid = String(run.pid);
  // k6 gets its arguments at exec; wait until /proc shows the k6 program, not the fork.
  for (let i = 0; i < 200 && !commandLines().get(k6Pid)?.includes('run'); i++)
    await new Promise((r) => setTimeout(r, 50));
  const lines = commandLines();
  t.match(lines.get(k6Pid), /\brun\b.*smoke\.ts/, 'k6 is running');
  t.ok(lines.size > 20, `${lines.size} processes read, the lab's among them`);
  for (const [what, value] of Object.entries(secrets)) {
    const leaking = [...lines]
      .filter(([, line]) => line.includes(value))
      .map(([pid, line]) => `${pid}: ${line.slice(0, 120)}`);
    t.same(leaking, [], `the ${what} is in no process's arguments`);
  }
  t.match(
    readFileSync(`/proc/${k6Pid}/environ`, 'utf8'),
    `ADMIN_TOKEN=${secrets['admin token']}`,
    'k6 has the token, through its environment',
  );
  run.stop();
  await run.done;
});
