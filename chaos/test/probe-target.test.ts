import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadEnvironment } from '../src/k6/scenarios.js';
import { platformFor } from '../src/platform.js';
import { targetFromFile } from '../src/target.js';

// Probes, the background load's environment and the service faults judge the target they are
// given, not the local lab: here the "system" is a small HTTP server in this process, the target
// file names it, and the lab's state folder points at an empty directory, so anything that read
// `.cloudcafe/` would fail. No engine runs; the audit against a real target is
// chaos/test/target-run.integration.test.ts.

process.env.CLOUDCAFE_STATE_DIR = mkdtempSync(join(tmpdir(), 'cloudcafe-no-lab-'));
const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-target-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'target-admin-token\n');

async function system() {
  const seen: { method: string; path: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      ...(req.headers.authorization && { authorization: req.headers.authorization }),
    });
    if (req.url === '/api/orders/health') return res.writeHead(200).end('{}');
    if (req.url === '/api/payments/admin/flags/lambda-delay' && req.method === 'PUT')
      return res.writeHead(200).end('{}');
    if (req.url === '/api/payments/admin/flags')
      return res.writeHead(200).end(JSON.stringify({ flags: [{ name: 'lambda-delay', active: '1s' }] }));
    res.writeHead(503).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { seen, gateway: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const sources = {
  ordersDatabase: 'postgres://cloudcafe@127.0.0.1:1/cloudcafe_orders',
  aws: { region: 'eu-west-1', endpoints: { sqs: 'http://127.0.0.1:2' } },
};

function targetFile(body: Record<string, unknown>): string {
  const file = join(dir, `target-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

t.test('a target file sends the probes to its gateway with its token', async (t) => {
  const { seen, gateway } = await system();
  const platform = platformFor(
    'local',
    {},
    targetFromFile(targetFile({ gateway, adminTokenFile: tokenFile, ...sources })),
  );
  const healthy = await platform.probe(
    { type: 'http', name: 'healthy', path: '/api/orders/health', tolerance: { type: 'status', equals: 200 } },
    {},
  );
  t.ok(healthy.ok, healthy.observed);
  const admin = await platform.probeOnce(
    {
      type: 'http',
      name: 'admin',
      path: '/api/orders/stress',
      admin: true,
      tolerance: { type: 'status', equals: 200 },
    },
    {},
  );
  t.notOk(admin.ok, 'the target answered 503 and the probe says so');
  t.same(seen, [
    { method: 'GET', path: '/api/orders/health' },
    { method: 'GET', path: '/api/orders/stress', authorization: 'Bearer target-admin-token' },
  ]);
});

t.test('the local driver sets a service fault flag through the target, not the lab', async (t) => {
  const { seen, gateway } = await system();
  const platform = platformFor(
    'local',
    {},
    targetFromFile(targetFile({ gateway, adminTokenFile: tokenFile, ...sources })),
  );
  const active = await platform.driver.inject({ type: 'lambda-delay', delay: '1s' }, 'cloudcafe-t-0', {
    durationMs: 5000,
    revertInfo: () => {},
    record: () => {},
  });
  const effect = await active.verify();
  t.ok(effect.verified, effect.detail);
  t.same(seen[0], {
    method: 'PUT',
    path: '/api/payments/admin/flags/lambda-delay',
    authorization: 'Bearer target-admin-token',
  });
});

t.test("the background load's environment is the target's entry and token", async (t) => {
  const { gateway } = await system();
  const env = loadEnvironment({
    runTag: 'target',
    target: targetFromFile(targetFile({ gateway, adminTokenFile: tokenFile, ...sources })),
  });
  t.equal(env.BASE_URL, gateway);
  t.equal(env.ADMIN_TOKEN, 'target-admin-token');
  t.equal(env.SERVICES, 'orders,inventory,payments,menu,loyalty,analytics');
});

t.test("the audit reads the target's data sources and says which one failed", async (t) => {
  const { gateway } = await system();
  const platform = platformFor(
    'local',
    {},
    targetFromFile(targetFile({ gateway, adminTokenFile: tokenFile, ...sources })),
  );
  // nothing listens on port 1: the audit must try the target's database, not the lab's
  await t.rejects(platform.audit({ settleMs: 0 }), /127\.0\.0\.1:1\b|ECONNREFUSED/);
  t.same(platform.target.sources().aws, { region: 'eu-west-1', endpoints: { sqs: 'http://127.0.0.1:2' } });
});

t.test('without a target the probe reads the lab, and says the lab is not up', async (t) => {
  const result = await platformFor('local').probe(
    { type: 'http', name: 'healthy', path: '/api/orders/health', tolerance: { type: 'status', equals: 200 } },
    {},
  );
  t.notOk(result.ok);
  t.match(result.observed, /the lab is not up/);
});

t.test('kubernetes and aws without a target never judge the local lab', async (t) => {
  const result = await platformFor('kubernetes').probe(
    { type: 'http', name: 'healthy', path: '/api/orders/health', tolerance: { type: 'status', equals: 200 } },
    {},
  );
  t.notOk(result.ok);
  t.match(result.observed, /--platform kubernetes needs --target/);
});

t.test('a target file with an unknown key, a bad gateway or no token file is refused', async (t) => {
  const good = { gateway: 'http://x:1', adminTokenFile: tokenFile, ...sources };
  t.throws(() => targetFromFile(targetFile({ ...good, token: 'x' })), /unknown key "token"/);
  t.throws(
    () => targetFromFile(targetFile({ ...good, aws: { region: 'x', endpoint: 'http://y:1' } })),
    /unknown key "aws.endpoint"/,
  );
  t.throws(() => targetFromFile(targetFile({ ...good, gateway: 'ftp://x' })), /gateway/);
  t.throws(() => targetFromFile(targetFile({ ...good, gateway: 'http://x:1/api' })), /gateway/);
  t.throws(
    () => targetFromFile(targetFile({ ...good, ordersDatabase: undefined })),
    /missing key "ordersDatabase"/,
  );
  t.throws(
    () => targetFromFile(targetFile({ ...good, adminTokenFile: join(dir, 'none') })),
    /adminTokenFile/,
  );
});
