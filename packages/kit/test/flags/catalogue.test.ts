import t from 'tap';
import { FAULT_FLAGS, type FaultFlagDefinition, valueOfLabel } from '../../src/flags/catalogue.js';
import { SERVICE_NAMES } from '../../src/services.js';

t.test('the flags CloudCafe relies on are declared', async (t) => {
  for (const name of [
    'dependency-errors',
    'dependency-latency',
    'payment-gateway-failure-rate',
    'payment-gateway-latency',
    'lambda-delay',
    'lambda-error',
    'cache-bypass',
  ]) {
    t.ok(name in FAULT_FLAGS, name);
  }
});

t.test('every variant label says its value, and every flag can be off', async (t) => {
  for (const [name, flag] of Object.entries(FAULT_FLAGS) as [string, FaultFlagDefinition][]) {
    t.ok(flag.variants.off === 0 || flag.variants.off === false, `${name}: off is 0 or false`);
    for (const [label, value] of Object.entries(flag.variants)) {
      if (label === 'off') continue;
      t.equal(valueOfLabel(label), value, `${name}: ${label} is ${String(value)}`);
    }
  }
});

t.test('every flag is honoured by known services and described', async (t) => {
  for (const [name, flag] of Object.entries(FAULT_FLAGS) as [string, FaultFlagDefinition][]) {
    t.ok(flag.services.length > 0, `${name} has services`);
    for (const service of flag.services)
      t.ok(SERVICE_NAMES.includes(service as never), `${name}: ${service} exists`);
    t.ok(flag.description.length > 10);
  }
});

t.test('label parsing', async (t) => {
  t.equal(valueOfLabel('10%'), 0.1);
  t.equal(valueOfLabel('200ms'), 200);
  t.equal(valueOfLabel('5s'), 5000);
  t.equal(valueOfLabel('on'), true);
  t.equal(valueOfLabel('sometimes'), undefined);
});
