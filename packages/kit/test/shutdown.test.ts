import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import t from 'tap';
import { createShutdown } from '../src/shutdown.js';

const logger = pino({ level: 'silent' });

t.test('phases run in order: intake, drain, consumers, resources, flush', async (t) => {
  const shutdown = createShutdown({ timeoutMs: 2000, logger });
  const order: string[] = [];
  const step =
    (name: string, ms = 0) =>
    async () => {
      await sleep(ms);
      order.push(name);
    };
  shutdown.register('flush', 'metrics', step('flush'));
  shutdown.register('consumers', 'poller', step('consumers'));
  shutdown.register('intake', 'server', step('intake', 30));
  shutdown.register('resources', 'pool', step('resources'));
  shutdown.register('drain', 'stress', step('drain', 10));

  const report = await shutdown.run('SIGTERM');

  t.same(order, ['intake', 'drain', 'consumers', 'resources', 'flush']);
  t.equal(report.ok, true);
  t.equal(report.reason, 'SIGTERM');
});

t.test('a hook that hangs is cut off by the timeout and later phases still run', async (t) => {
  const shutdown = createShutdown({ timeoutMs: 200, logger });
  let signalled = false;
  let flushed = false;
  shutdown.register('drain', 'stuck relay', (signal) => {
    signal.addEventListener('abort', () => {
      signalled = true;
    });
    return new Promise(() => {});
  });
  shutdown.register('flush', 'metrics', () => {
    flushed = true;
  });

  // the hook never settles: that run() returns at all is what shows the timeout cut it off
  const report = await shutdown.run('SIGTERM');

  t.equal(report.ok, false);
  t.match(report.hooks, [
    { name: 'stuck relay', status: 'timed_out' },
    { name: 'metrics', status: 'timed_out', error: 'no time left' },
  ]);
  t.ok(signalled, 'the hung hook was told to stop');
  t.notOk(flushed, 'no time was left for it');
});

t.test('a failing hook is reported and does not stop the others', async (t) => {
  const shutdown = createShutdown({ timeoutMs: 1000, logger });
  let flushed = false;
  shutdown.register('resources', 'pool', () => {
    throw new Error('already closed');
  });
  shutdown.register('flush', 'metrics', () => {
    flushed = true;
  });

  const report = await shutdown.run('SIGINT');

  t.ok(flushed);
  t.match(report.hooks, [
    { name: 'pool', status: 'failed', error: 'already closed' },
    { name: 'metrics', status: 'ok' },
  ]);
});

t.test('run is idempotent and closes registration', async (t) => {
  const shutdown = createShutdown({ timeoutMs: 1000, logger });
  let calls = 0;
  shutdown.register('intake', 'server', () => {
    calls += 1;
  });

  const [first, second] = await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);

  t.equal(calls, 1);
  t.equal(first, second);
  t.ok(shutdown.started);
  t.throws(() => shutdown.register('flush', 'late', () => {}), /has started/);
});
