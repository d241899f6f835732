import { pino } from 'pino';
import t from 'tap';
import { InjectedFaultError, withInjectedFaults } from '../../src/flags/inject.js';
import { createFlagStore } from '../../src/flags/store.js';
import { createMetrics } from '../../src/metrics/registry.js';

const logger = pino({ level: 'silent' });

function setup() {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  const flags = createFlagStore({ service: 'order', metrics, logger });
  return { metrics, flags };
}

t.test('with the flags off the call just happens', async (t) => {
  const { flags } = setup();
  t.teardown(() => flags.close());

  const result = await withInjectedFaults(flags, async () => 'rows', { dependency: 'postgres' });

  t.equal(result, 'rows');
});

t.test('dependency-errors at 100% fails every call with a typed error, counted', async (t) => {
  const { flags, metrics } = setup();
  t.teardown(() => flags.close());
  flags.set('dependency-errors', '100%', 60);
  let called = 0;

  for (let i = 0; i < 5; i++) {
    await t.rejects(
      withInjectedFaults(flags, async () => called++, { dependency: 'postgres' }),
      {
        name: 'InjectedFaultError',
        code: 'CAFE_ERR_INJECTED_FAULT',
        statusCode: 503,
        dependency: 'postgres',
      },
    );
  }

  t.equal(called, 0, 'the dependency was never called');
  t.match(
    (await metrics.prometheus()).body,
    'dependency_errors_injected_total{dependency="postgres",service="order",platform="local"} 5',
  );
});

t.test('dependency-errors at 25% fails about a quarter of calls', async (t) => {
  const { flags } = setup();
  t.teardown(() => flags.close());
  flags.set('dependency-errors', '25%', 60);

  let failed = 0;
  for (let i = 0; i < 2000; i++) {
    try {
      await withInjectedFaults(flags, async () => 1);
    } catch (err) {
      if (err instanceof InjectedFaultError) failed += 1;
    }
  }

  t.ok(failed > 400 && failed < 600, `${failed} of 2000 failed`);
});

t.test('dependency-latency adds its milliseconds to the call', async (t) => {
  const { flags } = setup();
  t.teardown(() => flags.close());
  flags.set('dependency-latency', '200ms', 60);
  const started = performance.now();

  await withInjectedFaults(flags, async () => 1);

  const elapsed = performance.now() - started;
  // a lower bound only: a loaded machine can add to the delay, never take from it
  t.ok(elapsed >= 195, `took ${Math.round(elapsed)} ms`);
});

t.test('the injected delay can be cancelled', async (t) => {
  const { flags } = setup();
  t.teardown(() => flags.close());
  flags.set('dependency-latency', '5s', 60);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);

  await t.rejects(
    withInjectedFaults(flags, async () => 1, { signal: controller.signal }),
    { name: 'AbortError' },
  );
});
