import { createServer } from 'node:net';
import type express from 'express';
import t from 'tap';
import Type from 'typebox';
import { errorResponses } from '../../src/errors.js';
import { buildExpressServiceApp, type ExpressKit, startExpressServer } from '../../src/express/index.js';
import { buildServiceApp } from '../../src/fastify/build-app.js';
import { mountRoutes } from '../../src/fastify/mount.js';
import { defineRoute } from '../../src/http/routes.js';
import { ADMIN, eventually, hashChain, testConfig } from '../support/fixtures.js';

// The menu service's routes, written once with defineRoute and mounted on both frameworks.
const Item = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 32 }),
    priceCents: Type.Integer({ minimum: 1, maximum: 10_000 }),
  },
  { additionalProperties: false },
);
const ROUTES = [
  defineRoute({
    method: 'POST',
    url: '/items',
    admin: false,
    summary: 'Adds an item',
    tags: ['menu'],
    schema: { body: Item, response: { 201: Item, ...errorResponses(400) } },
    handler: ({ body }) => ({ statusCode: 201, body }),
  }),
  defineRoute({
    method: 'GET',
    url: '/items/:id',
    admin: false,
    summary: 'One item',
    tags: ['menu'],
    schema: {
      params: Type.Object({ id: Type.String({ pattern: '^[a-z-]+$' }) }),
      response: { 200: Type.Object({ id: Type.String() }), ...errorResponses(400) },
    },
    handler: ({ params }) => ({ statusCode: 200, body: { id: params.id } }),
  }),
  defineRoute({
    method: 'GET',
    url: '/search',
    admin: false,
    summary: 'Search',
    tags: ['menu'],
    schema: {
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) }),
      response: { 200: Type.Object({ limit: Type.Integer() }) },
    },
    handler: ({ query }) => ({ statusCode: 200, body: { limit: query.limit } }),
  }),
];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startExpress(extra?: (router: express.Router, kit: ExpressKit) => void) {
  const config = testConfig('menu', { PORT: String(await freePort()) });
  const { app, kit } = buildExpressServiceApp({
    service: 'menu',
    config,
    scenarios: [hashChain],
    bodyLimit: 1024,
    routes: (router, kit) => {
      kit.mount(router, ROUTES);
      extra?.(router, kit);
    },
  });
  const running = await startExpressServer(app, kit, { signals: [] });
  t.teardown(() => running.stop('test over'));
  const call = async (request: {
    method?: string;
    url: string;
    payload?: unknown;
    headers?: Record<string, string>;
  }) => {
    const headers: Record<string, string> = { ...request.headers };
    let body: string | undefined;
    if (request.payload !== undefined) {
      body = typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${running.address}${request.url}`, {
      method: request.method ?? 'GET',
      headers,
      body,
    });
    const text = await response.text();
    return { statusCode: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
  };
  return { kit, running, call };
}

async function buildFastify() {
  const app = await buildServiceApp({
    service: 'menu',
    config: testConfig('menu'),
    scenarios: [hashChain],
    bodyLimit: 1024,
    routes: async (api) => mountRoutes(api, '', ROUTES),
  });
  t.teardown(() => app.close());
  return app;
}

/** Drops what differs from one request to the next (times, ids, durations). */
function stable(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key, value) =>
    ['setAt', 'expiresAt', 'durationMs', 'runId', 'startedAt', 'deadline'].includes(key) ? undefined : value,
  );
}

t.test('Express answers exactly as Fastify does, request for request', async (t) => {
  const fastify = await buildFastify();
  const { call } = await startExpress();
  const requests: {
    name: string;
    method?: string;
    url: string;
    payload?: unknown;
    headers?: Record<string, string>;
  }[] = [
    {
      name: 'valid body',
      method: 'POST',
      url: '/api/menu/items',
      payload: { name: 'latte', priceCents: 450 },
    },
    {
      name: 'field out of range',
      method: 'POST',
      url: '/api/menu/items',
      payload: { name: 'latte', priceCents: 0 },
    },
    { name: 'missing field', method: 'POST', url: '/api/menu/items', payload: { priceCents: 10 } },
    {
      name: 'unknown field',
      method: 'POST',
      url: '/api/menu/items',
      payload: { name: 'x', priceCents: 1, secret: 1 },
    },
    { name: 'malformed JSON', method: 'POST', url: '/api/menu/items', payload: '{"name":' },
    { name: 'empty JSON', method: 'POST', url: '/api/menu/items', payload: '' },
    {
      name: 'text body',
      method: 'POST',
      url: '/api/menu/items',
      payload: 'latte',
      headers: { 'content-type': 'text/plain' },
    },
    {
      name: 'too large',
      method: 'POST',
      url: '/api/menu/items',
      payload: { name: 'x'.repeat(2000), priceCents: 1 },
    },
    { name: 'params ok', url: '/api/menu/items/flat-white' },
    { name: 'params bad', url: '/api/menu/items/FLAT_WHITE' },
    { name: 'query default', url: '/api/menu/search' },
    { name: 'query coerced', url: '/api/menu/search?limit=5' },
    { name: 'query bad', url: '/api/menu/search?limit=many' },
    { name: 'unknown route', url: '/api/menu/nope' },
    { name: 'wrong method', method: 'DELETE', url: '/api/menu/search' },
    { name: 'health', url: '/api/menu/health' },
    { name: 'liveness', url: '/api/menu/health/live' },
    { name: 'readiness', url: '/api/menu/health/ready' },
    {
      name: 'stress without token',
      method: 'POST',
      url: '/api/menu/stress/hash-chain',
      payload: { rounds: 1 },
    },
    {
      name: 'stress wrong token',
      method: 'POST',
      url: '/api/menu/stress/hash-chain',
      payload: { rounds: 1 },
      headers: { authorization: 'Bearer wrong-token-0123456789' },
    },
    {
      name: 'stress bad knobs',
      method: 'POST',
      url: '/api/menu/stress/hash-chain',
      payload: { rounds: 0 },
      headers: ADMIN,
    },
    { name: 'unknown run', url: '/api/menu/stress/hash-chain/runs/nope', headers: ADMIN },
    {
      name: 'flag unknown variant',
      method: 'PUT',
      url: '/api/menu/admin/flags/cache-bypass',
      payload: { variant: 'maybe', ttlSeconds: 30 },
      headers: ADMIN,
    },
    {
      name: 'flag unknown',
      method: 'PUT',
      url: '/api/menu/admin/flags/gremlins',
      payload: { variant: 'on', ttlSeconds: 30 },
      headers: ADMIN,
    },
    {
      name: 'flag TTL too long',
      method: 'PUT',
      url: '/api/menu/admin/flags/cache-bypass',
      payload: { variant: 'on', ttlSeconds: 7200 },
      headers: ADMIN,
    },
    {
      name: 'flag set',
      method: 'PUT',
      url: '/api/menu/admin/flags/cache-bypass',
      payload: { variant: 'on', ttlSeconds: 30 },
      headers: ADMIN,
    },
    { name: 'flag list', url: '/api/menu/admin/flags', headers: ADMIN },
    { name: 'flag delete', method: 'DELETE', url: '/api/menu/admin/flags/cache-bypass', headers: ADMIN },
    { name: 'flag list without token', url: '/api/menu/admin/flags' },
  ];

  for (const { name, ...request } of requests) {
    const method = (request.method ?? 'GET') as 'GET';
    const fromFastify = await fastify.inject({
      method,
      url: request.url,
      headers: {
        ...(request.payload !== undefined && { 'content-type': 'application/json' }),
        ...request.headers,
      },
      ...(request.payload !== undefined && {
        payload: typeof request.payload === 'string' ? request.payload : JSON.stringify(request.payload),
      }),
    });
    const fromExpress = await call(request);
    t.equal(
      fromExpress.statusCode,
      fromFastify.statusCode,
      `${name}: same status (${fromFastify.statusCode})`,
    );
    t.same(stable(fromExpress.json()), stable(fromFastify.json()), `${name}: same body`);
  }
});

t.test('a wrong token answers 401, the right one 202, and the run completes', async (t) => {
  const { call } = await startExpress();

  const wrong = await call({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 2 },
    headers: { authorization: 'Bearer nope' },
  });
  const right = await call({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 2 },
    headers: ADMIN,
  });

  t.equal(wrong.statusCode, 401);
  t.equal(right.statusCode, 202);
  const { runId } = right.json();
  const done = await eventually(async () => {
    const view = (await call({ url: `/api/menu/stress/hash-chain/runs/${runId}`, headers: ADMIN })).json();
    return view.state === 'completed' ? view : undefined;
  });
  t.match(done, { result: { rounds: 2 } });
});

t.test('two concurrent stress POSTs: one 202, one 409', async (t) => {
  const { call, kit } = await startExpress();

  const answers = await Promise.all([
    call({ method: 'POST', url: '/api/menu/stress/hash-chain', payload: { rounds: 500 }, headers: ADMIN }),
    call({ method: 'POST', url: '/api/menu/stress/hash-chain', payload: { rounds: 500 }, headers: ADMIN }),
  ]);

  t.same(answers.map((answer) => answer.statusCode).sort(), [202, 409]);
  t.equal(answers.find((answer) => answer.statusCode === 409)?.json().error.code, 'CAFE_ERR_STRESS_RUNNING');
  await kit.stress.stop();
});

t.test('a flag set over HTTP reverts by itself after its TTL', async (t) => {
  const { call, kit } = await startExpress();

  const put = await call({
    method: 'PUT',
    url: '/api/menu/admin/flags/dependency-errors',
    payload: { variant: '10%', ttlSeconds: 1 },
    headers: ADMIN,
  });

  t.equal(put.statusCode, 200);
  t.equal(kit.flags.value('dependency-errors'), 0.1);
  await eventually(async () => {
    const { flags } = (await call({ url: '/api/menu/admin/flags', headers: ADMIN })).json();
    return flags.find((flag: { name: string }) => flag.name === 'dependency-errors').active === 'off'
      ? true
      : undefined;
  }, 3000);
});

t.test('requests are counted by route pattern; request ids are echoed', async (t) => {
  const { call } = await startExpress();

  const answered = await call({ url: '/api/menu/items/mocha', headers: { 'x-request-id': 'menu-req-1' } });
  await call({ url: '/api/menu/nowhere/at/all' });
  const { text } = await call({ url: '/api/menu/metrics' });

  t.equal(answered.headers.get('x-request-id'), 'menu-req-1');
  t.match(
    text,
    'http_requests_total{method="GET",route="/api/menu/items/:id",status="200",service="menu",platform="local"} 1',
  );
  t.match(
    text,
    'http_requests_total{method="GET",route="unmatched",status="404",service="menu",platform="local"} 1',
  );
});

t.test('hand-written routes validate with kit.validate and are counted by pattern', async (t) => {
  const { call } = await startExpress((router, kit) => {
    router.get(
      '/legacy/:code',
      kit.validate({
        params: Type.Object({ code: Type.String({ maxLength: 4 }) }),
        querystring: Type.Object({ page: Type.Integer({ minimum: 1, default: 1 }) }),
      }),
      (req, res) => {
        res.json({ code: req.params.code, page: req.query.page });
      },
    );
  });

  const ok = await call({ url: '/api/menu/legacy/ab?page=3' });
  const bad = await call({ url: '/api/menu/legacy/abcdef' });
  const { text } = await call({ url: '/api/menu/metrics' });

  t.same(ok.json(), { code: 'ab', page: 3 });
  t.equal(bad.statusCode, 400);
  t.same(bad.json(), {
    error: { code: 'CAFE_ERR_VALIDATION', message: 'params.code: must be a string of 0 to 4 characters' },
  });
  t.match(text, 'route="/api/menu/legacy/:code",status="200"');
});

t.test('an admin route answers 401 to an anonymous caller before its body is parsed', async (t) => {
  const { call } = await startExpress((router, kit) =>
    kit.mount(router, [
      defineRoute({
        method: 'PUT',
        url: '/admin-items/:id',
        admin: true,
        summary: 'Replaces an item (admin)',
        tags: ['menu admin'],
        schema: { body: Item, response: { 200: Item, ...errorResponses(400, 401) } },
        handler: ({ body }) => ({ statusCode: 200, body }),
      }),
    ]),
  );
  const bodies = [
    { payload: '{not json', headers: { 'content-type': 'application/json' } },
    { payload: 'x', headers: { 'content-type': 'text/plain' } },
    { payload: 'x'.repeat(4096), headers: { 'content-type': 'application/json' } },
  ];

  for (const { payload, headers } of bodies) {
    const anonymous = await call({ method: 'PUT', url: '/api/menu/admin-items/a', payload, headers });
    t.equal(anonymous.statusCode, 401, `${headers['content-type']}, ${payload.length} bytes`);
    t.equal(anonymous.json().error.code, 'CAFE_ERR_UNAUTHORIZED');
  }
  const admin = await call({
    method: 'PUT',
    url: '/api/menu/admin-items/a',
    ...bodies[0],
    headers: { ...bodies[0]?.headers, ...ADMIN },
  });
  t.equal(admin.statusCode, 400, 'with the token, the malformed body is what is refused');
});

t.test('openapi.json documents the kit routes and the service routes', async (t) => {
  const { call } = await startExpress();

  const document = (await call({ url: '/api/menu/openapi.json' })).json();

  t.ok(document.paths['/api/menu/items'].post.requestBody);
  t.ok(document.paths['/api/menu/items/{id}'].get);
  t.match(document.paths['/api/menu/stress/hash-chain'].post, { security: [{ adminToken: [] }] });
});

t.test('the shutdown turns readiness off, closes the server and cancels the run', async (t) => {
  const { call, kit, running } = await startExpress();
  const { runId } = (
    await call({
      method: 'POST',
      url: '/api/menu/stress/hash-chain',
      payload: { rounds: 5000 },
      headers: ADMIN,
    })
  ).json();
  let readyDuringDrain: number | undefined;
  kit.shutdown.register('drain', 'probe', async () => {
    readyDuringDrain = (await kit.health.ready()).statusCode;
  });

  const report = await running.stop('test');

  t.equal(report.ok, true, JSON.stringify(report.hooks));
  t.equal(readyDuringDrain, 503);
  t.equal(kit.stress.get('hash-chain', runId).state, 'cancelled');
  await t.rejects(fetch(`${running.address}/api/menu/health/live`), 'the server is closed');
});
