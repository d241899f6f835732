import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { platformFor, targetFromFile } from '../src/platform.js';

// Probes judge the target they are given, not the local lab: here the "system" is a small HTTP
// server in this process, the target file names it, and the lab's state folder points at an
// empty directory, so a probe that read `.cloudcafe/` would fail. No engine runs.

process.env.CLOUDCAFE_STATE_DIR = mkdtempSync(join(tmpdir(), 'cloudcafe-no-lab-'));
const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-target-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'target-admin-token\n');

async function system() {
  const seen: { path: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({
      path: req.url ?? '',
      ...(req.headers.authorization && { authorization: req.headers.authorization }),
    });
    res.writeHead(req.url === '/api/orders/health' ? 200 : 503).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { seen, gateway: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

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
    targetFromFile(targetFile({ gateway, adminTokenFile: tokenFile })),
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
    { path: '/api/orders/health' },
    { path: '/api/orders/stress', authorization: 'Bearer target-admin-token' },
  ]);
});

t.test('without a target the probe reads the lab, and says the lab is not up', async (t) => {
  const result = await platformFor('local').probe(
    { type: 'http', name: 'healthy', path: '/api/orders/health', tolerance: { type: 'status', equals: 200 } },
    {},
  );
  t.notOk(result.ok);
  t.match(result.observed, /the lab is not up/);
});

t.test('a target file with an unknown key, a bad gateway or no token file is refused', async (t) => {
  t.throws(
    () => targetFromFile(targetFile({ gateway: 'http://x:1', adminTokenFile: tokenFile, token: 'x' })),
    /unknown key "token"/,
  );
  t.throws(() => targetFromFile(targetFile({ gateway: 'ftp://x', adminTokenFile: tokenFile })), /gateway/);
  t.throws(
    () => targetFromFile(targetFile({ gateway: 'http://x:1/api', adminTokenFile: tokenFile })),
    /gateway/,
  );
  t.throws(
    () => targetFromFile(targetFile({ gateway: 'http://x:1', adminTokenFile: join(dir, 'none') })),
    /adminTokenFile/,
  );
});
