import t from 'tap';
import Type from 'typebox';
import { errorResponses } from '../../src/errors.js';
import { buildServiceApp } from '../../src/fastify/build-app.js';
import { testConfig } from '../support/fixtures.js';

const Order = Type.Object(
  {
    sku: Type.String({ minLength: 1, maxLength: 32 }),
    quantity: Type.Integer({ minimum: 1, maximum: 50 }),
  },
  { additionalProperties: false },
);

async function buildApp() {
  const app = await buildServiceApp({
    service: 'order',
    config: testConfig('order'),
    bodyLimit: 1024,
    routes: async (api) => {
      api.post(
        '/',
        {
          schema: {
            body: Order,
            response: {
              202: Type.Object({ sku: Type.String(), quantity: Type.Integer() }),
              ...errorResponses(400),
            },
          },
        },
        async (request, reply) => reply.code(202).send(request.body),
      );
      api.get(
        '/search',
        {
          schema: {
            querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 10 }) }),
            response: { 200: Type.Object({ limit: Type.Integer() }) },
          },
        },
        async (request) => ({ limit: request.query.limit }),
      );
      api.get('/boom', async () => {
        throw new Error('database password is hunter2');
      });
    },
  });
  t.teardown(() => app.close());
  return app;
}

t.test('the service routes live under its prefix and get decorations', async (t) => {
  const app = await buildApp();

  const response = await app.inject({
    method: 'POST',
    url: '/api/orders',
    payload: { sku: 'latte', quantity: 2 },
  });

  t.equal(response.statusCode, 202);
  t.same(response.json(), { sku: 'latte', quantity: 2 });
  t.equal(app.cafe.prefix, '/api/orders');
  t.ok(app.metrics && app.flags && app.health && app.stress && app.shutdown && app.aws && app.config);
});

t.test('client mistakes answer 4xx with a stable code and the error body', async (t) => {
  const app = await buildApp();
  const cases = [
    {
      name: 'a field out of range',
      request: { method: 'POST' as const, url: '/api/orders', payload: { sku: 'latte', quantity: 0 } },
      status: 400,
      code: 'CAFE_ERR_VALIDATION',
      message: 'body.quantity: must be an integer between 1 and 50',
    },
    {
      name: 'a missing field',
      request: { method: 'POST' as const, url: '/api/orders', payload: { quantity: 1 } },
      status: 400,
      code: 'CAFE_ERR_VALIDATION',
      message: 'body.sku: is required',
    },
    {
      name: 'an unknown field',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: { sku: 'x', quantity: 1, discount: 100 },
      },
      status: 400,
      code: 'CAFE_ERR_VALIDATION',
      message: 'body.discount: is not allowed',
    },
    {
      name: 'a bad query parameter',
      request: { method: 'GET' as const, url: '/api/orders/search?limit=lots' },
      status: 400,
      code: 'CAFE_ERR_VALIDATION',
      message: 'querystring.limit: must be an integer between 1 and 100',
    },
    {
      name: 'malformed JSON',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: '{"sku": "latte",',
        headers: { 'content-type': 'application/json' },
      },
      status: 400,
      code: 'CAFE_ERR_MALFORMED_BODY',
    },
    {
      name: 'an empty JSON body',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: '',
        headers: { 'content-type': 'application/json' },
      },
      status: 400,
      code: 'CAFE_ERR_MALFORMED_BODY',
    },
    {
      name: 'a text body',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: 'latte x2',
        headers: { 'content-type': 'text/plain' },
      },
      status: 415,
      code: 'CAFE_ERR_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a form body',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: 'sku=latte',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      status: 415,
      code: 'CAFE_ERR_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'a body over the limit',
      request: {
        method: 'POST' as const,
        url: '/api/orders',
        payload: { sku: 'x'.repeat(2000), quantity: 1 },
      },
      status: 413,
      code: 'CAFE_ERR_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'an unknown route',
      request: { method: 'GET' as const, url: '/api/orders/nope/nope' },
      status: 404,
      code: 'CAFE_ERR_NOT_FOUND',
      message: 'no route GET /api/orders/nope/nope',
    },
    {
      name: 'a known path with another method',
      request: { method: 'DELETE' as const, url: '/api/orders/search' },
      status: 404,
      code: 'CAFE_ERR_NOT_FOUND',
    },
  ];

  for (const c of cases) {
    const response = await app.inject(c.request);
    t.equal(response.statusCode, c.status, `${c.name}: ${c.status}`);
    t.equal(response.json().error.code, c.code, `${c.name}: ${c.code}`);
    if (c.message) t.equal(response.json().error.message, c.message, `${c.name}: names the field`);
  }
});

t.test('query defaults are applied and strings coerced', async (t) => {
  const app = await buildApp();

  t.same((await app.inject({ url: '/api/orders/search' })).json(), { limit: 10 });
  t.same((await app.inject({ url: '/api/orders/search?limit=7' })).json(), { limit: 7 });
});

t.test('an unexpected error is a 500 that hides its message', async (t) => {
  const app = await buildApp();

  const response = await app.inject({ url: '/api/orders/boom' });

  t.equal(response.statusCode, 500);
  t.same(response.json(), { error: { code: 'CAFE_ERR_INTERNAL', message: 'internal error' } });
});

t.test('request ids: reused when sent, generated otherwise, always echoed', async (t) => {
  const app = await buildApp();

  const given = await app.inject({ url: '/api/orders/health/live', headers: { 'x-request-id': 'abc-123' } });
  const fresh = await app.inject({ url: '/api/orders/health/live' });
  const hostile = await app.inject({
    url: '/api/orders/health/live',
    headers: { 'x-request-id': 'a b\n<script>' },
  });

  t.equal(given.headers['x-request-id'], 'abc-123');
  t.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.not(hostile.headers['x-request-id'], 'a b\n<script>');
});

t.test('answered requests are counted by method, route pattern and status', async (t) => {
  const app = await buildApp();
  await app.inject({ method: 'POST', url: '/api/orders', payload: { sku: 'latte', quantity: 1 } });
  await app.inject({ method: 'POST', url: '/api/orders', payload: { sku: 'latte', quantity: 0 } });
  await app.inject({ url: '/api/orders/whatever-123' });

  const { body } = await app.inject({ url: '/api/orders/metrics' });

  t.match(
    body,
    'http_requests_total{method="POST",route="/api/orders",status="202",service="order",platform="local"} 1',
  );
  t.match(
    body,
    'http_requests_total{method="POST",route="/api/orders",status="400",service="order",platform="local"} 1',
  );
  t.match(
    body,
    'http_requests_total{method="GET",route="unmatched",status="404",service="order",platform="local"} 1',
  );
  t.match(
    body,
    'http_errors_total{method="POST",route="/api/orders",status_class="4xx",service="order",platform="local"} 1',
  );
  t.match(body, /http_request_duration_ms_count\{[^}]*status="202"[^}]*\} 1/);
});

t.test('health, liveness and readiness', async (t) => {
  const app = await buildApp();
  app.health.register('postgres', async () => {
    throw new Error('connection refused');
  });

  const health = await app.inject({ url: '/api/orders/health' });
  const live = await app.inject({ url: '/api/orders/health/live' });
  const ready = await app.inject({ url: '/api/orders/health/ready' });

  t.equal(health.statusCode, 503);
  t.match(health.json(), {
    status: 'fail',
    service: 'order',
    checks: { postgres: { status: 'fail', error: 'failed' } },
  });
  t.notMatch(health.body, 'connection refused', "the dependency's own message stays in the log");
  t.same(live.json(), { status: 'ok', service: 'order' });
  t.equal(ready.statusCode, 503);
});

t.test('openapi.json documents every route with its schemas', async (t) => {
  const app = await buildApp();

  const document = (await app.inject({ url: '/api/orders/openapi.json' })).json();

  t.equal(document.openapi, '3.1.0');
  t.match(document.paths['/api/orders'].post, {
    requestBody: {
      content: { 'application/json': { schema: { properties: { quantity: { maximum: 50 } } } } },
    },
    responses: {
      202: {},
      400: { content: { 'application/json': { schema: { properties: { error: {} } } } } },
    },
  });
  t.match(document.paths['/api/orders/admin/flags/{name}'].put, {
    security: [{ adminToken: [] }],
    parameters: [{ name: 'name', in: 'path', required: true }],
  });
  t.ok(document.paths['/api/orders/health']);
  t.ok(document.paths['/api/orders/metrics']);
});

t.test('a config for another service is refused', async (t) => {
  await t.rejects(buildServiceApp({ service: 'menu', config: testConfig('order') }), /SERVICE_NAME is order/);
});
