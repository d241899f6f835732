import { pino } from 'pino';
import t from 'tap';
import { createFlagStore } from '../../src/flags/store.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { eventually } from '../support/fixtures.js';

const logger = pino({ level: 'silent' });

t.test('a set flag gives its variant value, and reverts by itself after its TTL', async (t) => {
  const metrics = createMetrics({ service: 'inventory', platform: 'local', processMetrics: false });
  const flags = createFlagStore({ service: 'inventory', metrics, logger });
  t.teardown(() => flags.close());

  const state = flags.set('dependency-errors', '50%', 1);

  t.equal(flags.value('dependency-errors'), 0.5);
  t.equal(state.active, '50%');
  t.ok(state.expiresAt && Date.parse(state.expiresAt) - Date.now() <= 1000);
  t.match(
    (await metrics.prometheus()).body,
    'fault_flag_active{flag="dependency-errors",service="inventory",platform="local"} 1',
  );

  const started = Date.now();
  await eventually(() => (flags.value('dependency-errors') === 0 ? true : undefined), 3000);
  t.ok(Date.now() - started >= 900, 'not before its TTL');
  t.equal(flags.get('dependency-errors').active, 'off');
  t.notOk(flags.get('dependency-errors').expiresAt);
  t.match(
    (await metrics.prometheus()).body,
    'fault_flag_active{flag="dependency-errors",service="inventory",platform="local"} 0',
  );
});

t.test('the expiry timer reverts the flag even when nobody reads it', async (t) => {
  const metrics = createMetrics({ service: 'menu', platform: 'local', processMetrics: false });
  const flags = createFlagStore({ service: 'menu', metrics, logger });
  t.teardown(() => flags.close());

  flags.set('cache-bypass', 'on', 1);

  // Only the gauge is read: it changes only if the timer itself reverted the flag.
  await eventually(async () => {
    const { body } = await metrics.prometheus();
    return body.includes('fault_flag_active{flag="cache-bypass",service="menu",platform="local"} 0')
      ? true
      : undefined;
  }, 3000);
  t.equal(flags.value('cache-bypass'), false);
});

t.test('clear reverts now; a new set replaces the old one and its timer', async (t) => {
  const flags = createFlagStore({ service: 'order', logger });
  t.teardown(() => flags.close());

  flags.set('dependency-latency', '1s', 60);
  flags.set('dependency-latency', '200ms', 60);
  t.equal(flags.value('dependency-latency'), 200);

  flags.clear('dependency-latency');
  t.equal(flags.value('dependency-latency'), 0);
});

t.test('wrong names, variants and TTLs are refused with the valid choices', async (t) => {
  const flags = createFlagStore({ service: 'payment', logger });
  t.teardown(() => flags.close());

  // @ts-expect-error not a flag
  t.throws(() => flags.set('gremlins', 'on', 10), { code: 'CAFE_ERR_NOT_FOUND', statusCode: 404 });
  // @ts-expect-error not a variant of lambda-error
  t.throws(() => flags.set('lambda-error', '33%', 10), {
    code: 'CAFE_ERR_VALIDATION',
    message: /valid: off, 10%, 25%, 50%, 100%/,
  });
  t.throws(() => flags.set('lambda-error', '10%', 0), {
    code: 'CAFE_ERR_VALIDATION',
    message: /ttlSeconds: .*1 and 3600/,
  });
  t.throws(() => flags.set('lambda-error', '10%', 3601), { code: 'CAFE_ERR_VALIDATION' });
  t.throws(() => flags.set('lambda-error', '10%', 1.5), { code: 'CAFE_ERR_VALIDATION' });
  t.throws(() => flags.set('cache-bypass', 'on', 10), {
    code: 'CAFE_ERR_VALIDATION',
    message: /not honoured by payment \(honoured by: inventory, menu\)/,
  });
  t.equal(flags.value('lambda-error'), 0, 'nothing was set');
});

t.test('list shows every flag with its ladder, the active variant and expiry', async (t) => {
  const flags = createFlagStore({ service: 'payment', logger });
  t.teardown(() => flags.close());
  flags.set('lambda-delay', '3s', 120);

  const list = flags.list();

  t.equal(list.length, 7);
  t.match(
    list.find((flag) => flag.name === 'lambda-delay'),
    {
      honoured: true,
      active: '3s',
      value: 3000,
      variants: [
        { name: 'off', value: 0 },
        { name: '200ms', value: 200 },
      ],
      expiresAt: String,
    },
  );
  t.match(
    list.find((flag) => flag.name === 'cache-bypass'),
    { honoured: false, active: 'off', value: false },
  );
});
