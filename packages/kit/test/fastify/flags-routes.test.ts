import t from 'tap';
import { buildServiceApp } from '../../src/fastify/build-app.js';
import { ADMIN, eventually, testConfig } from '../support/fixtures.js';

async function buildApp() {
  const app = await buildServiceApp({ service: 'inventory', config: testConfig('inventory') });
  t.teardown(() => app.close());
  return app;
}

const flagUrl = (name: string) => `/api/inventory/admin/flags/${name}`;

t.test('admin flag routes need the token', async (t) => {
  const app = await buildApp();

  const list = await app.inject({ url: '/api/inventory/admin/flags' });
  const put = await app.inject({
    method: 'PUT',
    url: flagUrl('cache-bypass'),
    payload: { variant: 'on', ttlSeconds: 10 },
  });
  const del = await app.inject({
    method: 'DELETE',
    url: flagUrl('cache-bypass'),
    headers: { authorization: 'Bearer x' },
  });

  t.same([list.statusCode, put.statusCode, del.statusCode], [401, 401, 401]);
  t.equal(app.flags.value('cache-bypass'), false, 'nothing was set');
});

t.test('GET lists every flag with its variants, the active one and expiry', async (t) => {
  const app = await buildApp();
  app.flags.set('cache-bypass', 'on', 30);

  const { flags } = (await app.inject({ url: '/api/inventory/admin/flags', headers: ADMIN })).json();

  t.equal(flags.length, 7);
  t.match(
    flags.find((flag: { name: string }) => flag.name === 'cache-bypass'),
    {
      description: String,
      services: ['inventory', 'menu'],
      honoured: true,
      variants: [
        { name: 'off', value: false },
        { name: 'on', value: true },
      ],
      active: 'on',
      value: true,
      expiresAt: String,
    },
  );
});

t.test('PUT sets a flag; it reverts by itself after its TTL', async (t) => {
  const app = await buildApp();

  const put = await app.inject({
    method: 'PUT',
    url: flagUrl('dependency-errors'),
    payload: { variant: '25%', ttlSeconds: 1 },
    headers: ADMIN,
  });

  t.equal(put.statusCode, 200);
  t.match(put.json(), { name: 'dependency-errors', active: '25%', value: 0.25, expiresAt: String });
  t.equal(app.flags.value('dependency-errors'), 0.25);
  const reverted = await eventually(async () => {
    const state = (await app.inject({ url: '/api/inventory/admin/flags', headers: ADMIN }))
      .json()
      .flags.find((flag: { name: string }) => flag.name === 'dependency-errors');
    return state.active === 'off' ? state : undefined;
  }, 3000);
  t.equal(reverted.value, 0);
  t.notOk(reverted.expiresAt);
});

t.test('PUT with an unknown variant answers 400 listing the valid ones', async (t) => {
  const app = await buildApp();

  const response = await app.inject({
    method: 'PUT',
    url: flagUrl('dependency-latency'),
    payload: { variant: '2s', ttlSeconds: 30 },
    headers: ADMIN,
  });

  t.equal(response.statusCode, 400);
  t.same(response.json().error, {
    code: 'CAFE_ERR_VALIDATION',
    message: 'variant: dependency-latency has no variant 2s; valid: off, 100ms, 200ms, 500ms, 1s, 5s',
  });
});

t.test('PUT on an unknown flag answers 404; bad TTLs and missing fields 400', async (t) => {
  const app = await buildApp();

  const unknown = await app.inject({
    method: 'PUT',
    url: flagUrl('gremlins'),
    payload: { variant: 'on', ttlSeconds: 30 },
    headers: ADMIN,
  });
  const noTtl = await app.inject({
    method: 'PUT',
    url: flagUrl('cache-bypass'),
    payload: { variant: 'on' },
    headers: ADMIN,
  });
  const longTtl = await app.inject({
    method: 'PUT',
    url: flagUrl('cache-bypass'),
    payload: { variant: 'on', ttlSeconds: 86_400 },
    headers: ADMIN,
  });

  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().error.code, 'CAFE_ERR_NOT_FOUND');
  t.equal(noTtl.statusCode, 400);
  t.equal(noTtl.json().error.message, 'body.ttlSeconds: is required');
  t.equal(longTtl.statusCode, 400);
  t.equal(longTtl.json().error.message, 'body.ttlSeconds: must be an integer between 1 and 3600');
});

t.test('DELETE reverts a flag now', async (t) => {
  const app = await buildApp();
  app.flags.set('dependency-latency', '5s', 600);

  const response = await app.inject({ method: 'DELETE', url: flagUrl('dependency-latency'), headers: ADMIN });

  t.equal(response.statusCode, 200);
  t.match(response.json(), { active: 'off', value: 0 });
  t.equal(app.flags.value('dependency-latency'), 0);
  t.equal((await app.inject({ method: 'DELETE', url: flagUrl('gremlins'), headers: ADMIN })).statusCode, 404);
});

t.test('the flag gauge is exported', async (t) => {
  const app = await buildApp();
  app.flags.set('cache-bypass', 'on', 30);

  const { body } = await app.inject({ url: '/api/inventory/metrics' });

  t.match(body, 'fault_flag_active{flag="cache-bypass",service="inventory",platform="local"} 1');
  t.match(body, 'fault_flag_active{flag="dependency-errors",service="inventory",platform="local"} 0');
});
