import { labPaths, readLabState } from '@cloudcafe/local-platform';
import t from 'tap';
import { buildApp } from '../src/app.js';
import { loadFrontConfig } from '../src/config.js';

// The HTTP front driven with app.inject() (no port opened), reading the lab's DynamoDB through
// the payment service's link. Built without PAYMENT_RUNTIME_URL, as on AWS: what needs the local
// runtime must say so, not pretend.

const state = readLabState(labPaths());
if (!state)
  throw new Error('the lab is not up: run through `npx tap` (its before-hook) or `npx cloudcafe lab up`');
const link = (to: string) =>
  `http://127.0.0.1:${state.links.find((l) => l.name === `payment-to-${to}`)?.listenPort}`;
const TOKEN = 'front-test-token-0123456789';

const app = await buildApp(
  loadFrontConfig({
    SERVICE_NAME: 'payment',
    PORT: '1',
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
    METRICS_CLOUDWATCH: 'off',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_S3_FORCE_PATH_STYLE: 'on',
  }),
);
// The SDK reads endpoints from the environment only; the links are the service's own.
process.env.AWS_ENDPOINT_URL_DYNAMODB = link('dynamodb');
process.env.AWS_ENDPOINT_URL_S3 = link('s3');
process.env.AWS_ENDPOINT_URL_SQS = link('sqs');
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
t.teardown(() => app.close());
const admin = { authorization: `Bearer ${TOKEN}` };

t.test('health checks the ledger table', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/payments/health' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { status: 'ok', checks: { dynamodb: { status: 'ok' } } });
});

t.test('an order without a payment answers 404 with a stable code', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/payments/no-such-order-123' });
  t.equal(res.statusCode, 404);
  t.match(res.json(), { error: { code: 'CAFE_ERR_NOT_FOUND' } });
});

t.test('a malformed order id answers 400', async (t) => {
  const res = await app.inject({ method: 'GET', url: `/api/payments/${'x'.repeat(65)}` });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { error: { code: 'CAFE_ERR_VALIDATION' } });
});

t.test('the cold-start stress needs the admin token and valid knobs', async (t) => {
  const anonymous = await app.inject({ method: 'POST', url: '/api/payments/stress/cold-start', payload: {} });
  t.equal(anonymous.statusCode, 401);
  const bad = await app.inject({
    method: 'POST',
    url: '/api/payments/stress/cold-start',
    headers: admin,
    payload: { payments: 0 },
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { error: { code: 'CAFE_ERR_VALIDATION', message: /payments/ } });
});

t.test('without a local Lambda runtime, the lambda flags answer 503 instead of being ignored', async (t) => {
  const res = await app.inject({
    method: 'PUT',
    url: '/api/payments/admin/flags/lambda-error',
    headers: admin,
    payload: { variant: '100%', ttlSeconds: 10 },
  });
  t.equal(res.statusCode, 503);
  t.match(res.json(), { error: { code: 'CAFE_ERR_UNAVAILABLE', message: /PAYMENT_RUNTIME_URL/ } });
  const anonymous = await app.inject({ method: 'DELETE', url: '/api/payments/admin/flags/lambda-error' });
  t.equal(anonymous.statusCode, 401, 'the forwarding routes are admin routes too');
});

t.test('the front honours dependency-errors on its own ledger reads', async (t) => {
  // Prepare
  t.teardown(() =>
    app.inject({ method: 'DELETE', url: '/api/payments/admin/flags/dependency-errors', headers: admin }),
  );
  const set = await app.inject({
    method: 'PUT',
    url: '/api/payments/admin/flags/dependency-errors',
    headers: admin,
    payload: { variant: '100%', ttlSeconds: 10 },
  });
  t.equal(set.statusCode, 200);
  // Act
  const res = await app.inject({ method: 'GET', url: '/api/payments/no-such-order-123' });
  // Assess
  t.equal(res.statusCode, 503);
  t.match(res.json(), { error: { code: 'CAFE_ERR_INJECTED_FAULT' } });
});
