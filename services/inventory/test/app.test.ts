import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadInventoryConfig } from '../src/config.js';
import { mergeLines } from '../src/store.js';

// Unit tests through app.inject(): no engine is reached. Every request here is refused before
// it could touch DynamoDB or Redis, which is the behaviour under test.

const TOKEN = 'unit-test-admin-token-0123456789';
const ADMIN = { authorization: `Bearer ${TOKEN}` };
const SERVICE_TOKEN = 'unit-test-service-credential-0123456789';
const SERVICE = { authorization: `Bearer ${SERVICE_TOKEN}` };

async function app() {
  const config = loadInventoryConfig({
    SERVICE_NAME: 'inventory',
    PORT: '3999',
    ADMIN_TOKEN: TOKEN,
    SERVICE_TOKEN,
    LOG_LEVEL: 'silent',
    METRICS_CLOUDWATCH: 'off',
    REDIS_URL: 'redis://127.0.0.1:1',
  });
  const built = await buildApp(config, { workers: false });
  t.teardown(() => built.close());
  return built;
}

t.test('a malformed SKU is a 400 with the validation code, not a lookup', async (t) => {
  const res = await (await app()).inject({ method: 'GET', url: '/api/inventory/not%20a%20sku' });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.code, 'CAFE_ERR_VALIDATION');
});

t.test('restock and product edits need the admin token, then valid bodies', async (t) => {
  const a = await app();
  const anonymous = await a.inject({
    method: 'POST',
    url: '/api/inventory/LATTE-12/restock',
    payload: { quantity: 5 },
  });
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.json().error.code, 'CAFE_ERR_UNAUTHORIZED');
  const zero = await a.inject({
    method: 'POST',
    url: '/api/inventory/LATTE-12/restock',
    headers: ADMIN,
    payload: { quantity: 0 },
  });
  t.equal(zero.statusCode, 400, 'a restock of 0 is refused');
  const edit = await a.inject({
    method: 'PUT',
    url: '/api/inventory/LATTE-12',
    payload: { name: 'x', price: 1 },
  });
  t.equal(edit.statusCode, 401);
});

t.test(
  'reservations are internal: refused without the service credential, before the body is read',
  async (t) => {
    const a = await app();
    const reserve = { orderId: 'o-1', items: [{ sku: 'AMERICANO-12', quantity: 3 }] };
    const calls = [
      { method: 'POST' as const, url: '/api/inventory/reservations', payload: reserve },
      { method: 'GET' as const, url: '/api/inventory/reservations/o-1' },
      ...['attach', 'commit', 'release'].map((action) => ({
        method: 'POST' as const,
        url: `/api/inventory/reservations/o-1/${action}`,
      })),
    ];
    for (const call of calls) {
      for (const headers of [{}, { authorization: 'Bearer not-the-credential-0123456789' }]) {
        const res = await a.inject({ ...call, headers });
        t.equal(res.statusCode, 401, `${call.method} ${call.url} without the credential`);
        t.equal(res.json().error.code, 'CAFE_ERR_UNAUTHORIZED');
      }
    }
    const spec = (await a.inject({ method: 'GET', url: '/api/inventory/openapi.json' })).json();
    t.same(spec.paths['/api/inventory/reservations'].post.security, [
      { serviceToken: [] },
      { adminToken: [] },
    ]);
  },
);

t.test('a reservation needs at least one line and positive quantities', async (t) => {
  const a = await app();
  const empty = await a.inject({
    method: 'POST',
    url: '/api/inventory/reservations',
    headers: SERVICE,
    payload: { orderId: 'o-1', items: [] },
  });
  t.equal(empty.statusCode, 400);
  const negative = await a.inject({
    method: 'POST',
    url: '/api/inventory/reservations',
    headers: ADMIN,
    payload: { orderId: 'o-1', items: [{ sku: 'LATTE-12', quantity: -1 }] },
  });
  t.equal(negative.statusCode, 400);
  t.match(negative.json().error.message, /quantity/);
});

t.test('a list cursor this API did not issue is a 400', async (t) => {
  const res = await (await app()).inject({ method: 'GET', url: '/api/inventory?cursor=garbage' });
  t.equal(res.statusCode, 400);
  t.equal(res.json().error.code, 'CAFE_ERR_VALIDATION');
});

t.test('the restock stress scenario is admin-only and validates its knobs', async (t) => {
  const a = await app();
  t.equal(
    (await a.inject({ method: 'POST', url: '/api/inventory/stress/restock', payload: {} })).statusCode,
    401,
  );
  const bad = await a.inject({
    method: 'POST',
    url: '/api/inventory/stress/restock',
    headers: ADMIN,
    payload: { skuCount: 10 },
  });
  t.equal(bad.statusCode, 400, 'a snapshot below 1000 SKUs is refused');
});

t.test('OpenAPI lists every inventory route with its responses', async (t) => {
  const doc = (await (await app()).inject({ method: 'GET', url: '/api/inventory/openapi.json' })).json() as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  for (const [path, method] of [
    ['/api/inventory', 'get'],
    ['/api/inventory/{sku}', 'get'],
    ['/api/inventory/{sku}/restock', 'post'],
    ['/api/inventory/reservations', 'post'],
    ['/api/inventory/reservations/{orderId}/commit', 'post'],
    ['/api/inventory/reservations/{orderId}/release', 'post'],
  ] as const) {
    t.ok(doc.paths[path]?.[method]?.responses, `${method.toUpperCase()} ${path}`);
  }
});

t.test('lines of the same SKU merge, sorted, so a transaction touches each item once', async (t) => {
  t.same(
    mergeLines([
      { sku: 'MOCHA-12', quantity: 1 },
      { sku: 'LATTE-12', quantity: 2 },
      { sku: 'MOCHA-12', quantity: 3 },
    ]),
    [
      { sku: 'LATTE-12', quantity: 2 },
      { sku: 'MOCHA-12', quantity: 4 },
    ],
  );
});
