import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sumSeries } from '@cloudcafe/kit';
import { labPaths, readLabState, serviceTokenFile, waitFor } from '@cloudcafe/local-platform';
import t from 'tap';

// The reservation API and the read cache against the running lab (DynamoDB and Redis behind
// their links), through the gateway.

function lab() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}
const admin = () => ({ authorization: `Bearer ${readFileSync(lab().adminTokenFile, 'utf8').trim()}` });

/** These tests play the order service: its reservation calls carry the lab's service credential. */
const asService = (path: string): Record<string, string> =>
  path.startsWith('/api/inventory/reservations')
    ? { authorization: `Bearer ${readFileSync(serviceTokenFile(labPaths()), 'utf8').trim()}` }
    : {};

async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers = {}) {
  const res = await fetch(`${lab().gateway}${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...asService(path),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Item {
  sku: string;
  available: number;
  reserved: number;
  sold: number;
}

async function freshSku(stock: number): Promise<string> {
  const sku = `TEST-${randomBytes(5).toString('hex').toUpperCase()}`;
  await api('PUT', `/api/inventory/${sku}`, { name: sku, category: 'test', price: 250 }, admin());
  if (stock > 0) await api('POST', `/api/inventory/${sku}/restock`, { quantity: stock }, admin());
  return sku;
}

const stockOf = async (sku: string) => (await api<Item>('GET', `/api/inventory/${sku}`)).body;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${lab().gateway}/api/inventory/metrics`)).text();
  return sumSeries(text, name, { cache: 'catalogue' });
}

t.test('a reservation moves stock once per order: create, repeat, attach, commit', async (t) => {
  // Prepare
  const a = await freshSku(10);
  const b = await freshSku(10);
  const orderId = randomUUID();
  const items = [
    { sku: a, quantity: 2 },
    { sku: b, quantity: 1 },
  ];
  // Act
  const created = await api<{ status: string; items: { unitPriceCents: number }[] }>(
    'POST',
    '/api/inventory/reservations',
    { orderId, items },
  );
  const repeated = await api('POST', '/api/inventory/reservations', { orderId, items });
  const other = await api<{ error: { code: string } }>('POST', '/api/inventory/reservations', {
    orderId,
    items: [{ sku: a, quantity: 5 }],
  });
  // Assess
  t.equal(created.status, 201);
  t.equal(created.body.status, 'held');
  t.same(
    created.body.items.map((l) => l.unitPriceCents),
    [250, 250],
    'unit prices come with the reservation',
  );
  t.equal(repeated.status, 200, 'a repeat answers the existing reservation');
  t.equal(other.status, 409);
  t.equal(other.body.error.code, 'CAFE_ERR_CONFLICT');
  t.match(await stockOf(a), { available: 8, reserved: 2, sold: 0 });

  t.equal((await api('POST', `/api/inventory/reservations/${orderId}/attach`)).status, 200);
  const committed = await api<{ status: string }>('POST', `/api/inventory/reservations/${orderId}/commit`);
  const again = await api<{ status: string }>('POST', `/api/inventory/reservations/${orderId}/commit`);
  const late = await api('POST', `/api/inventory/reservations/${orderId}/release`);
  t.equal(committed.body.status, 'committed');
  t.equal(again.status, 200, 'commit is idempotent');
  t.equal(late.status, 409, 'a sold reservation cannot be released');
  t.match(await stockOf(a), { available: 8, reserved: 0, sold: 2 });
  t.match(await stockOf(b), { available: 9, reserved: 0, sold: 1 });
});

t.test('release twice returns the stock once; an unknown sku is a 404 that reserves nothing', async (t) => {
  const sku = await freshSku(3);
  const orderId = randomUUID();
  await api('POST', '/api/inventory/reservations', { orderId, items: [{ sku, quantity: 3 }] });
  t.match(await stockOf(sku), { available: 0, reserved: 3 });
  t.equal((await api('POST', `/api/inventory/reservations/${orderId}/release`)).status, 200);
  t.equal((await api('POST', `/api/inventory/reservations/${orderId}/release`)).status, 200);
  t.match(await stockOf(sku), { available: 3, reserved: 0 });
  const unknown = await api('POST', '/api/inventory/reservations', {
    orderId: randomUUID(),
    items: [
      { sku, quantity: 1 },
      { sku: 'NO-SUCH-SKU-0', quantity: 1 },
    ],
  });
  t.equal(unknown.status, 404);
  t.match(await stockOf(sku), { available: 3, reserved: 0 });
});

t.test('catalogue reads are cached, and cache-bypass sends them to DynamoDB', async (t) => {
  // Prepare
  const sku = await freshSku(1);
  await api('GET', `/api/inventory/${sku}`);
  const hitsBefore = await metric('cache_hits_total');
  // Act: a second read within the TTL
  await api('GET', `/api/inventory/${sku}`);
  // Assess
  t.ok((await metric('cache_hits_total')) > hitsBefore, 'the second read was a hit');
  const flag = await api(
    'PUT',
    '/api/inventory/admin/flags/cache-bypass',
    { variant: 'on', ttlSeconds: 30 },
    admin(),
  );
  t.equal(flag.status, 200);
  t.teardown(() => api('DELETE', '/api/inventory/admin/flags/cache-bypass', undefined, admin()));
  const hits = await metric('cache_hits_total');
  const misses = await metric('cache_misses_total');
  await api('GET', `/api/inventory/${sku}`);
  t.equal(await metric('cache_hits_total'), hits, 'no hit while bypassed');
  t.ok((await metric('cache_misses_total')) > misses, 'counted as a miss');
});

t.test('the catalogue pages with a cursor, without repeats, and has the flash-sale SKU', async (t) => {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await api<{ items: { sku: string }[]; nextCursor?: string }>(
      'GET',
      `/api/inventory?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
    );
    t.equal(res.status, 200);
    seen.push(...res.body.items.map((i) => i.sku));
    cursor = res.body.nextCursor;
    if (!cursor) break;
  }
  t.equal(new Set(seen).size, seen.length, 'no SKU twice');
  t.ok(seen.includes('LTD-GEISHA-001'), 'the limited edition is in the catalogue');
  t.ok(seen.includes('LATTE-12'));
});

t.test('held reservations expire and give their stock back (the sweeper)', async (t) => {
  const sku = await freshSku(2);
  await api('POST', '/api/inventory/reservations', { orderId: randomUUID(), items: [{ sku, quantity: 2 }] });
  t.match(await stockOf(sku), { available: 0, reserved: 2 });
  await waitFor(
    'the hold to expire',
    async () => {
      const s = await stockOf(sku);
      return s.available === 2 && s.reserved === 0;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  t.pass('stock returned after the hold');
});
