import t from 'tap';
import { createHealth } from '../src/health.js';

t.test('all checks passing answers 200 ok', async (t) => {
  const health = createHealth({ service: 'order' });
  health.register('postgres', async () => {});
  health.register('redis', async () => 'PONG');

  const { statusCode, body } = await health.check();

  t.equal(statusCode, 200);
  t.match(body, {
    status: 'ok',
    service: 'order',
    checks: { postgres: { status: 'ok' }, redis: { status: 'ok' } },
  });
});

t.test('a failing check answers 503 naming it', async (t) => {
  const health = createHealth({ service: 'order' });
  health.register('postgres', async () => {});
  health.register('sqs', async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:4576');
  });

  const { statusCode, body } = await health.check();

  t.equal(statusCode, 503);
  t.match(body, {
    status: 'fail',
    checks: {
      postgres: { status: 'ok' },
      sqs: { status: 'fail', error: 'connect ECONNREFUSED 127.0.0.1:4576' },
    },
  });
});

t.test('a check slower than its timeout fails, and is told to stop', async (t) => {
  const health = createHealth({ service: 'inventory' });
  let aborted = false;
  health.register(
    'dynamodb',
    async (signal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      // settles only when aborted: a health check that waited for it would never answer
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
    },
    { timeoutMs: 50 },
  );

  const { statusCode, body } = await health.check();

  t.equal(statusCode, 503);
  t.match(body.checks.dynamodb, { status: 'fail', error: 'timed out after 50 ms' });
  t.ok(aborted, 'the slow check was told to stop');
});

t.test('a check that throws synchronously is a failure, not a crash', async (t) => {
  const health = createHealth({ service: 'order' });
  health.register('broken', () => {
    throw new Error('boom');
  });

  const { body } = await health.check();

  t.match(body.checks.broken, { status: 'fail', error: 'boom' });
});

t.test('readiness: false while shutting down, and only readiness checks count', async (t) => {
  const health = createHealth({ service: 'loyalty' });
  health.register(
    'warehouse',
    async () => {
      throw new Error('down');
    },
    { readiness: false },
  );

  t.equal((await health.ready()).statusCode, 200, 'a non-readiness check does not make it unready');
  t.equal((await health.check()).statusCode, 503, 'but health shows it');

  health.markShuttingDown();
  const ready = await health.ready();
  t.equal(ready.statusCode, 503);
  t.equal(ready.body.status, 'shutting_down');
  t.same(health.live(), { status: 'ok', service: 'loyalty' }, 'still alive');
});

t.test('a name registers once', async (t) => {
  const health = createHealth({ service: 'order' });
  health.register('postgres', async () => {});

  t.throws(() => health.register('postgres', async () => {}), /already registered/);
});
