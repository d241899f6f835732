import type { AddressInfo, Socket } from 'node:net';
import { createServer } from 'node:net';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadOrderConfig } from '../src/config.js';
import { orderIdForKey, requestHash } from '../src/model.js';
import { priceBulkOrder } from '../src/morning-rush.js';

// Unit tests through app.inject(): the pool points at a closed port and no worker starts, so
// every request here must be refused before it reaches PostgreSQL or inventory.

const TOKEN = 'unit-test-admin-token-0123456789';
const ADMIN = { authorization: `Bearer ${TOKEN}` };

async function app(env: Record<string, string> = {}) {
  const config = loadOrderConfig({
    SERVICE_NAME: 'order',
    PORT: '3999',
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
    METRICS_CLOUDWATCH: 'off',
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    INVENTORY_URL: 'http://127.0.0.1:1',
    ...env,
  });
  const built = await buildApp(config, { workers: false });
  // A pool still connecting to a server that never answers makes close reject: nothing to undo.
  t.teardown(() => built.close().catch(() => {}));
  return built;
}

t.test('bad orders are 400 with a message naming the field', async (t) => {
  const a = await app();
  for (const [payload, field] of [
    [{ customerId: 'c1', items: [] }, 'items'],
    [{ customerId: 'c1', items: [{ sku: 'LATTE-12', quantity: 0 }] }, 'quantity'],
    [{ customerId: '', items: [{ sku: 'LATTE-12', quantity: 1 }] }, 'customerId'],
    [{ customerId: 'c1', items: [{ sku: 'latte', quantity: 1 }] }, 'sku'],
  ] as const) {
    const res = await a.inject({ method: 'POST', url: '/api/orders', payload });
    t.equal(res.statusCode, 400, `refused: ${JSON.stringify(payload)}`);
    t.equal(res.json().error.code, 'CAFE_ERR_VALIDATION');
    t.match(res.json().error.message, field);
  }
});

t.test('an Idempotency-Key with control characters or over 128 characters is refused', async (t) => {
  const res = await (await app()).inject({
    method: 'POST',
    url: '/api/orders',
    headers: { 'idempotency-key': 'x'.repeat(129) },
    payload: { customerId: 'c1', items: [{ sku: 'LATTE-12', quantity: 1 }] },
  });
  t.equal(res.statusCode, 400);
});

t.test('a long poll is bounded and its query closed', async (t) => {
  const a = await app();
  for (const query of ['waitSeconds=21', 'waitSeconds=-1', 'waitSeconds=soon', 'wait=5']) {
    const res = await a.inject({ method: 'GET', url: `/api/orders/o-1?${query}` });
    t.equal(res.statusCode, 400, query);
    t.equal(res.json().error.code, 'CAFE_ERR_VALIDATION', query);
  }
});

t.test('listing orders needs the admin token; its filters and cursors are validated', async (t) => {
  const a = await app();
  const anonymous = await a.inject({ method: 'GET', url: '/api/orders' });
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.json().error.code, 'CAFE_ERR_UNAUTHORIZED');
  const list = (url: string) => a.inject({ method: 'GET', url, headers: ADMIN });
  t.equal((await list('/api/orders?status=shipped')).statusCode, 400);
  t.equal((await list('/api/orders?cursor=abc')).statusCode, 400);
  t.equal((await list('/api/orders?limit=1000')).statusCode, 400);
});

t.test('a dependency that cannot be reached is a 5xx with a dependency code, never a 500', async (t) => {
  const res = await (await app()).inject({
    method: 'POST',
    url: '/api/orders',
    payload: { customerId: 'c1', items: [{ sku: 'LATTE-12', quantity: 1 }] },
  });
  t.ok([502, 503, 504].includes(res.statusCode), `answered ${res.statusCode}`);
  t.match(res.json().error.code, /^CAFE_ERR_DEPENDENCY_/);
});

t.test('an Idempotency-Key always stands for the same order id; bodies hash canonically', async (t) => {
  t.equal(orderIdForKey('abc'), orderIdForKey('abc'));
  t.not(orderIdForKey('abc'), orderIdForKey('abd'));
  t.match(orderIdForKey('abc'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  const body = { customerId: 'c1', items: [{ sku: 'LATTE-12', quantity: 2 }] };
  t.equal(requestHash(body), requestHash(structuredClone(body)));
  t.not(requestHash(body), requestHash({ ...body, customerId: 'c2' }));
});

t.test(
  'morning-rush pricing is deterministic, integer cents, and taxes with half-even rounding',
  async (t) => {
    const a = priceBulkOrder(7, 200);
    const b = priceBulkOrder(7, 200);
    t.same(a, b, 'the same bulk order prices the same');
    t.ok(Number.isInteger(a.totalCents) && a.totalCents > 0);
    t.not(priceBulkOrder(8, 200).digest, a.digest, 'another order, another invoice');
  },
);

t.test('the morning-rush scenario is admin-only and bounded', async (t) => {
  const a = await app();
  t.equal(
    (await a.inject({ method: 'POST', url: '/api/orders/stress/morning-rush', payload: {} })).statusCode,
    401,
  );
  const tooLong = await a.inject({
    method: 'POST',
    url: '/api/orders/stress/morning-rush',
    headers: ADMIN,
    payload: { durationSeconds: 3600 },
  });
  t.equal(tooLong.statusCode, 400);
  // The typo the issue measured: it used to start a 60 s run with the defaults.
  const typo = await a.inject({
    method: 'POST',
    url: '/api/orders/stress/morning-rush',
    headers: ADMIN,
    payload: { durationSec: 5, intensity: 0.2 },
  });
  t.equal(typo.statusCode, 400);
  t.match(typo.json().error, { code: 'CAFE_ERR_VALIDATION', message: /body\.durationSec: is not allowed/ });
  t.match(typo.json().error.message, /body\.intensity: is not allowed/);
  const started = await a.inject({
    method: 'POST',
    url: '/api/orders/stress/morning-rush',
    headers: ADMIN,
    payload: { durationSeconds: 1, linesPerOrder: 50 },
  });
  t.equal(started.statusCode, 202);
  const busy = await a.inject({
    method: 'POST',
    url: '/api/orders/stress/morning-rush',
    headers: ADMIN,
    payload: {},
  });
  t.equal(busy.statusCode, 409, 'one run at a time');
  const { runId } = started.json() as { runId: string };
  let state = 'running';
  let result: { orders?: number } = {};
  for (let i = 0; i < 100 && state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const run = (
      await a.inject({ method: 'GET', url: `/api/orders/stress/morning-rush/runs/${runId}`, headers: ADMIN })
    ).json() as { state: string; result?: { orders?: number } };
    state = run.state;
    result = run.result ?? {};
  }
  t.equal(state, 'completed');
  t.ok((result.orders ?? 0) > 0, `priced ${result.orders} bulk orders`);
});

t.test(
  'at capacity: a new order is refused with 429 before anything is reserved, a pool wait past its bound is 429 not 502',
  async (t) => {
    // Prepare: a "database" that accepts connections and never answers, so the two pool
    // connections hang in their start-up and later requests wait for them.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    const a = await app({
      DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/none`,
      // Inventory stays on a closed port: reaching it would answer 502, not 429.
      PG_POOL_MAX: '2',
      ORDER_MAX_DB_WAITING: '1',
    });
    const reads = [1, 2, 3].map(() =>
      a.inject({ method: 'GET', url: '/api/orders/00000000-0000-4000-8000-000000000000' }),
    );
    await new Promise((r) => setTimeout(r, 200));
    // Act
    const placed = await a.inject({
      method: 'POST',
      url: '/api/orders',
      payload: { customerId: 'c1', items: [{ sku: 'LATTE-12', quantity: 1 }] },
    });
    const read = await reads[2];
    // Assess
    t.equal(placed.statusCode, 429, 'refused at the door');
    t.equal(placed.json().error.code, 'CAFE_ERR_RATE_LIMITED');
    t.ok(Number(placed.headers['retry-after']) >= 1, 'with Retry-After');
    t.equal(read?.statusCode, 429, 'a read that waited out the pool is told to retry, not 502');
  },
);
