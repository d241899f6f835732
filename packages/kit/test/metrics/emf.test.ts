import t from 'tap';
import { createEmfLogger } from '../../src/metrics/emf.js';
import { createMetrics } from '../../src/metrics/registry.js';

t.test('writes embedded metric format lines CloudWatch can read', async (t) => {
  const metrics = createMetrics({ service: 'payment', platform: 'aws', processMetrics: false });
  const lines: string[] = [];
  const emf = createEmfLogger({ metrics, write: (line) => lines.push(line) });

  metrics.inc('lambda_cold_starts_total', { function: 'charge' });
  metrics.observe('lambda_invocation_duration_ms', { function: 'charge', start: 'cold' }, 3200);
  metrics.observe('lambda_invocation_duration_ms', { function: 'charge', start: 'cold' }, 3200);
  const written = emf.flush();

  t.equal(written, lines.length);
  const documents = lines.map((line) => JSON.parse(line));
  const coldStarts = documents.find(
    (doc) =>
      doc.lambda_cold_starts_total !== undefined && doc._aws.CloudWatchMetrics[0].Dimensions[0].length === 2,
  );
  t.match(coldStarts, {
    _aws: {
      Timestamp: Number,
      CloudWatchMetrics: [
        {
          Namespace: 'CloudCafe',
          Dimensions: [['Service', 'Platform']],
          Metrics: [{ Name: 'lambda_cold_starts_total', Unit: 'Count' }],
        },
      ],
    },
    Service: 'payment',
    Platform: 'aws',
    lambda_cold_starts_total: 1,
  });
  const byFunction = documents.find(
    (doc) => doc.lambda_invocation_duration_ms !== undefined && doc.function === 'charge',
  );
  t.same(byFunction._aws.CloudWatchMetrics[0].Dimensions, [['Service', 'Platform', 'function']]);
  t.same(byFunction.lambda_invocation_duration_ms, [3200, 3200]);
});

t.test('a second flush writes only what happened since', async (t) => {
  const metrics = createMetrics({ service: 'payment', platform: 'aws', processMetrics: false });
  const lines: string[] = [];
  const emf = createEmfLogger({ metrics, write: (line) => lines.push(line) });
  metrics.inc('payments_charged_total');
  emf.flush();

  lines.length = 0;
  emf.flush();

  t.same(lines, []);
});
