import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { pino } from 'pino';
import t from 'tap';
import { createAwsClients } from '../../src/aws.js';
import {
  CLOUDWATCH_LIMITS,
  createCloudWatchExporter,
  toBatches,
  toDatums,
} from '../../src/metrics/cloudwatch.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { readMetric, useLocalEmulator } from '../support/emulator.js';
import { eventually } from '../support/fixtures.js';

// Integration: the real CloudWatch API of the lab's emulator (moto), through the kit's client.
useLocalEmulator();
const aws = createAwsClients({ region: 'us-east-1' });
t.teardown(() => aws.destroy());
const logger = pino({ level: 'silent' });
const unique = () => 1000 + Math.floor(Math.random() * 9000);

/** A window around `fn` wide enough for the datums' timestamps, narrow enough to be ours. */
async function window<T>(fn: () => Promise<T>) {
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  const result = await fn();
  const end = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
  return { start, end, result };
}

t.test('a flush arrives in CloudWatch with Service and Platform dimensions', async (t) => {
  const metrics = createMetrics({ service: 'analytics', platform: 'kubernetes', processMetrics: false });
  const exporter = createCloudWatchExporter({ metrics, client: aws.cloudwatch, logger, intervalMs: 60_000 });
  const runs = unique();
  const revenue = unique() + 0.5;
  metrics.inc('stress_runs_total', { scenario: 'query-storm', state: 'completed' }, runs);
  metrics.set('analytics_window_revenue', { window: '1m' }, revenue);
  for (const ms of [12, 40, 40, 900])
    metrics.observe('dependency_call_duration_ms', { dependency: 'warehouse', outcome: 'ok' }, ms);

  const { start, end, result } = await window(() => exporter.flush());

  t.same(result, { sent: 6, pending: 0, dropped: 0 }, 'three aggregates and three per-dimension datums');
  const base = { Service: 'analytics', Platform: 'kubernetes' };
  const read = (name: string, dimensions: Record<string, string>, stat: 'Sum' | 'SampleCount' | 'Maximum') =>
    readMetric(aws.cloudwatch, { name, dimensions, stat, start, end });
  t.same(await read('stress_runs_total', base, 'Sum'), [runs]);
  t.same(await read('stress_runs_total', { ...base, scenario: 'query-storm' }, 'Sum'), [runs]);
  t.same(await read('analytics_window_revenue', { ...base, window: '1m' }, 'Maximum'), [revenue]);
  t.same(await read('dependency_call_duration_ms', base, 'SampleCount'), [4], 'every observation arrives');
  t.same(await read('dependency_call_duration_ms', { ...base, dependency: 'warehouse' }, 'Maximum'), [900]);
});

t.test('more than 1000 datums go out in several requests, all accepted', async (t) => {
  const metrics = createMetrics({ service: 'payment', platform: 'kubernetes', processMetrics: false });
  let requests = 0;
  const counting = {
    send: ((command: Parameters<CloudWatchClient['send']>[0]) => {
      requests += 1;
      return aws.cloudwatch.send(command);
    }) as CloudWatchClient['send'],
  };
  const exporter = createCloudWatchExporter({ metrics, client: counting, logger, intervalMs: 60_000 });
  const depth = unique();
  for (let queue = 0; queue < 1200; queue++) metrics.set('sqs_queue_depth', { queue: `q-${queue}` }, depth);

  const { start, end, result } = await window(() => exporter.flush());

  t.same(result, { sent: 1201, pending: 0, dropped: 0 });
  t.equal(requests, 2);
  const dimensions = { Service: 'payment', Platform: 'kubernetes', queue: 'q-1199' };
  t.same(
    await readMetric(aws.cloudwatch, { name: 'sqs_queue_depth', dimensions, stat: 'Maximum', start, end }),
    [depth],
  );
});

t.test('a failed flush logs, keeps the datums and sends them at the next flush', async (t) => {
  const metrics = createMetrics({ service: 'loyalty', platform: 'kubernetes', processMetrics: false });
  const warnings: string[] = [];
  const recording = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  let fail = true;
  // A stub only for the first send (the emulator cannot be made to fail on cue); the retry
  // goes to the real emulator.
  const flaky = {
    send: ((command: Parameters<CloudWatchClient['send']>[0]) => {
      if (fail) return Promise.reject(new Error('connect ECONNREFUSED'));
      return aws.cloudwatch.send(command);
    }) as CloudWatchClient['send'],
  };
  const exporter = createCloudWatchExporter({
    metrics,
    client: flaky,
    logger: recording,
    intervalMs: 60_000,
  });
  const points = unique();
  metrics.inc('loyalty_points_awarded_total', points);

  const { start, result: failed } = await window(() => exporter.flush());
  t.same(failed, { sent: 0, pending: 1, dropped: 0 });
  t.match(warnings.join(''), 'CloudWatch flush failed');

  fail = false;
  const retried = await exporter.flush();
  const end = new Date(Date.now() + 2000);
  t.same(retried, { sent: 1, pending: 0, dropped: 0 });
  const dimensions = { Service: 'loyalty', Platform: 'kubernetes' };
  t.same(
    await readMetric(aws.cloudwatch, {
      name: 'loyalty_points_awarded_total',
      dimensions,
      stat: 'Sum',
      start,
      end,
    }),
    [points],
  );
});

t.test('an unreachable CloudWatch never makes flush throw', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  const unreachable = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    maxAttempts: 1,
  });
  t.teardown(() => unreachable.destroy());
  const exporter = createCloudWatchExporter({
    metrics,
    client: unreachable,
    logger,
    intervalMs: 60_000,
    maxPendingDatums: 1,
  });
  metrics.inc('orders_accepted_total');
  metrics.inc('orders_rejected_total', { reason: 'validation' });

  const result = await exporter.flush();

  t.equal(result.sent, 0);
  t.equal(result.pending, 1, 'kept up to the bound');
  t.equal(result.dropped, 2, 'the oldest beyond it dropped');
});

t.test('the periodic flush runs by itself and stop() flushes the rest', async (t) => {
  const metrics = createMetrics({ service: 'menu', platform: 'kubernetes', processMetrics: false });
  const exporter = createCloudWatchExporter({ metrics, client: aws.cloudwatch, logger, intervalMs: 100 });
  const start = new Date(Date.now() - 2000);
  const dimensions = { Service: 'menu', Platform: 'kubernetes' };
  const hits = unique();

  exporter.start();
  metrics.inc('cache_hits_total', { cache: 'menu' }, hits);
  const arrived = await eventually(async () => {
    const values = await readMetric(aws.cloudwatch, {
      name: 'cache_hits_total',
      dimensions,
      stat: 'Sum',
      start,
      end: new Date(Date.now() + 2000),
    });
    return values.length > 0 ? values : undefined;
  });
  t.same(arrived, [hits]);

  const misses = unique();
  metrics.inc('cache_misses_total', { cache: 'menu' }, misses);
  const final = await exporter.stop();
  t.equal(final.sent, 2);
  const values = await readMetric(aws.cloudwatch, {
    name: 'cache_misses_total',
    dimensions,
    stat: 'Sum',
    start,
    end: new Date(Date.now() + 2000),
  });
  t.same(values, [misses]);
});

t.test('batches respect the per-request datum count and size', async (t) => {
  const small = Array.from({ length: 2500 }, (_, i) => ({ MetricName: 'x', Value: i }));
  t.same(
    toBatches(small).map((batch) => batch.length),
    [1000, 1000, 500],
  );

  const wide = Array.from({ length: 600 }, () => ({
    MetricName: 'http_request_duration_ms',
    Values: Array.from({ length: 150 }, (_, i) => 1_000_000.123456789 + i),
    Counts: Array.from({ length: 150 }, () => 1),
  }));
  const batches = toBatches(wide);
  t.ok(batches.length > 1, 'split');
  for (const batch of batches) {
    t.ok(batch.length < CLOUDWATCH_LIMITS.datumsPerRequest, 'by size, not by count');
    t.ok(JSON.stringify(batch).length <= CLOUDWATCH_LIMITS.bytesPerRequest);
  }
  t.equal(batches.flat().length, 600, 'nothing lost');
});

t.test('a histogram with many distinct values is split at 150 values per datum', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  for (let ms = 0; ms < 400; ms++)
    metrics.observe('http_request_duration_ms', { method: 'GET', route: '/', status: 200 }, ms);

  const datums = toDatums(metrics.drain(), {
    service: 'order',
    platform: 'local',
    storageResolution: 60,
    histograms: 'values',
  });

  t.same(
    datums.map((datum) => datum.Values?.length),
    [150, 150, 100],
  );
});

t.test('in statistics mode a histogram travels as count, sum, min and max', async (t) => {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  for (let ms = 0; ms < 400; ms++)
    metrics.observe('http_request_duration_ms', { method: 'GET', route: '/', status: 200 }, ms);

  const datums = toDatums(metrics.drain(), {
    service: 'order',
    platform: 'local',
    storageResolution: 60,
    histograms: 'statistics',
  });

  t.same(
    datums.map((datum) => datum.StatisticValues),
    [{ SampleCount: 400, Sum: 79_800, Minimum: 0, Maximum: 399 }],
  );
});
