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
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4576'), { code: 'ECONNREFUSED' });
  });

  const { statusCode, body } = await health.check();

  t.equal(statusCode, 503);
  t.match(body, {
    status: 'fail',
    checks: {
      postgres: { status: 'ok' },
      sqs: { status: 'fail', error: 'unreachable' },
    },
  });
  t.notMatch(JSON.stringify(body), '127.0.0.1', 'no address of a dependency in the public report');
});

t.test("a dependency's own message (an ARN, say) stays in the log, not in the report", async (t) => {
  const logged: unknown[] = [];
  const health = createHealth({ service: 'payment', onFailure: (check, err) => logged.push([check, err]) });
  const arn = 'arn:aws:sqs:eu-west-1:123456789012:cloudcafe-payments.fifo';
  health.register('sqs', async () => {
    throw new Error(`User is not authorized to perform sqs:GetQueueAttributes on resource ${arn}`);
  });

  const { body } = await health.check();

  t.same(body.checks.sqs?.error, 'failed');
  t.notMatch(JSON.stringify(body), '123456789012');
  t.match(logged, [['sqs', { message: new RegExp(arn.replaceAll('.', '\\.')) }]]);
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
  t.match(body.checks.dynamodb, { status: 'fail', error: 'timeout' });
  t.ok(aborted, 'the slow check was told to stop');
});

t.test('a check that throws synchronously is a failure, not a crash', async (t) => {
  const health = createHealth({ service: 'order' });
  health.register('broken', () => {
    throw new Error('boom');
  });

  const { body } = await health.check();

  t.match(body.checks.broken, { status: 'fail', error: 'failed' });
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
