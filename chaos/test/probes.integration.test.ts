import { labPaths, readLabState, waitFor } from '@cloudcafe/local-platform';
import t from 'tap';
import { runProbe } from '../src/probes.js';

// The numeric probes against the shared lab: a service's own /metrics, CloudWatch (the lab's
// emulator, fed by the services' flushes), and k6's live API (absent here: no load is running).

function someService() {
  const state = readLabState(labPaths());
  const service = state?.services[0];
  if (!state || !service) throw new Error('the lab is not up');
  return { gateway: state.gateway, name: service.name, health: service.health };
}

t.test('a metric probe sums a Prometheus series from the service and judges it by range', async (t) => {
  // Prepare: a few requests, so the service has counted some
  const { name, health } = someService();
  for (let i = 0; i < 3; i++) await (await fetch(health)).arrayBuffer();
  // Act
  const holds = await runProbe({
    type: 'metric',
    name: 'requests counted',
    service: name,
    metric: 'http_requests_total',
    tolerance: { type: 'range', min: 3 },
  });
  const breaks = await runProbe({
    type: 'metric',
    name: 'no requests at all',
    service: name,
    metric: 'http_requests_total',
    tolerance: { type: 'range', max: 0 },
  });
  // Assess
  t.ok(holds.ok, holds.observed);
  t.notOk(breaks.ok, breaks.observed);
  t.match(breaks.observed, /http_requests_total = \d+ \(want ≤ 0\)/);
});

t.test('a k6 probe without background load fails, saying why', async (t) => {
  const result = await runProbe({
    type: 'k6',
    name: 'error rate',
    metric: 'http_req_failed',
    stat: 'rate',
    tolerance: { type: 'range', max: 0.01 },
  });
  t.notOk(result.ok);
  t.match(result.observed, /no background load is running/);
});

t.test('a CloudWatch probe reads what the services flushed to the lab emulator', async (t) => {
  const { name, health } = someService();
  let last = '';
  await waitFor(
    'the service to flush its request count to CloudWatch',
    async () => {
      await (await fetch(health)).arrayBuffer();
      const result = await runProbe(
        {
          type: 'cloudwatch',
          name: 'requests in CloudWatch',
          service: name,
          metric: 'http_requests_total',
          stat: 'Sum',
          window: '10m',
          tolerance: { type: 'range', min: 1 },
        },
        { platform: 'local' },
      );
      last = result.observed;
      return result.ok;
    },
    { timeoutMs: 45_000, intervalMs: 2000 },
  );
  t.match(last, /http_requests_total = \d+/);
});
