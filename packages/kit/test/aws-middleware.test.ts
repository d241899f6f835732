import { ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { ListTablesCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { MetadataBearer } from '@smithy/types';
import pino from 'pino';
import t, { type Test } from 'tap';
import { AWS_APIS, createAwsClients } from '../src/aws.js';
import type { WithMiddlewareStack } from '../src/aws-middleware.js';
import { createExpressKit } from '../src/express/index.js';
import { buildServiceApp } from '../src/fastify/build-app.js';
import { createCloudWatchExporter } from '../src/metrics/cloudwatch.js';
import { sumSeries } from '../src/metrics/prometheus-text.js';
import { createMetrics, type Metrics } from '../src/metrics/registry.js';
import { testConfig } from './support/fixtures.js';

// Signing resolves credentials before the stand-in answers; from the environment, not from
// the instance-metadata endpoint the default chain would otherwise try.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

interface Sent {
  commandName: string;
  input: unknown;
}

/**
 * A stand-in for the network: the last middleware before the request handler answers every
 * request itself with an empty output (every output member is optional), after signing and
 * retries have run, so no socket is opened. `failFirst` answers that many attempts with a
 * retryable 503 first.
 */
function answerLocally<Input extends object, Output extends MetadataBearer>(
  client: WithMiddlewareStack<Input, Output>,
  sent: Sent[] = [],
  failFirst = 0,
): Sent[] {
  let failures = failFirst;
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      sent.push({ commandName: context.commandName ?? '', input: args.input });
      if (failures-- > 0) {
        throw Object.assign(new Error('stand-in: service unavailable'), {
          name: 'ServiceUnavailable',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        });
      }
      return { output: { $metadata: {} } as Output, response: {} };
    },
    { step: 'finalizeRequest', priority: 'low', name: 'standInTransport' },
  );
  return sent;
}

function newMetrics(t: Test): Metrics {
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  t.teardown(() => metrics.close());
  return metrics;
}

/** aws_calls_total drained from the registry, as `api operation` → count. */
function awsCalls(metrics: Metrics): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const series of metrics.drain().series) {
    if (series.name === 'aws_calls_total')
      calls[`${series.labels.api} ${series.labels.operation}`] = series.value ?? 0;
  }
  return calls;
}

t.test('every client counts each command it sends, by api and operation (stand-in transport)', async (t) => {
  // Prepare
  const metrics = newMetrics(t);
  const aws = createAwsClients({ region: 'us-east-1', metrics });
  t.teardown(() => aws.destroy());
  answerLocally(aws.sqs);
  answerLocally(aws.dynamodb);
  answerLocally(aws.kinesis);
  answerLocally(aws.s3);
  answerLocally(aws.cloudwatch);

  // Act
  await aws.sqs.send(new ListQueuesCommand({}));
  await aws.sqs.send(new ListQueuesCommand({}));
  await aws.dynamodb.send(new ListTablesCommand({}));
  await aws.documentClient.send(new GetCommand({ TableName: 'orders', Key: { orderId: 'o-1' } }));
  await aws.kinesis.send(new ListStreamsCommand({}));
  await aws.s3.send(new ListBucketsCommand({}));
  await aws.cloudwatch.send(new ListMetricsCommand({}));

  // Assess
  const calls = awsCalls(metrics);
  t.same(new Set(Object.keys(calls).map((key) => key.split(' ')[0])), new Set(AWS_APIS), 'every API');
  t.same(calls, {
    'sqs ListQueues': 2,
    'dynamodb ListTables': 1,
    'dynamodb GetItem': 1,
    'kinesis ListStreams': 1,
    's3 ListBuckets': 1,
    'cloudwatch ListMetrics': 1,
  });
});

t.test('a command is counted once however many attempts it takes (stand-in transport)', async (t) => {
  const metrics = newMetrics(t);
  const aws = createAwsClients({ region: 'us-east-1', metrics, maxAttempts: 3 });
  t.teardown(() => aws.destroy());
  const sent = answerLocally(aws.sqs, [], 2);

  await aws.sqs.send(new ListQueuesCommand({}));

  t.equal(sent.length, 3, 'two failed attempts, then the answer');
  t.same(awsCalls(metrics), { 'sqs ListQueues': 1 });
});

t.test('a DynamoDB request refused by the expression check is not counted: it was never sent', async (t) => {
  const metrics = newMetrics(t);
  const aws = createAwsClients({ region: 'us-east-1', metrics });
  t.teardown(() => aws.destroy());
  const sent = answerLocally(aws.dynamodb);
  const update = {
    TableName: 'orders',
    Key: { orderId: { S: 'o-1' } },
    UpdateExpression: 'SET total = :t',
    ExpressionAttributeValues: { ':t': { N: '1' } },
  };

  await t.rejects(
    aws.dynamodb.send(
      new UpdateItemCommand({ ...update, ExpressionAttributeValues: { ':t': { N: '1' }, ':x': { N: '2' } } }),
    ),
    { name: 'ValidationException' },
  );
  await aws.dynamodb.send(new UpdateItemCommand(update));

  t.equal(sent.length, 1);
  t.same(awsCalls(metrics), { 'dynamodb UpdateItem': 1 });
});

t.test(
  'the CloudWatch exporter’s own calls are counted without feeding a loop (stand-in transport)',
  async (t) => {
    // Prepare
    const metrics = newMetrics(t);
    const aws = createAwsClients({ region: 'us-east-1', metrics });
    t.teardown(() => aws.destroy());
    const sent = answerLocally(aws.cloudwatch);
    const exporter = createCloudWatchExporter({
      metrics,
      client: aws.cloudwatch,
      logger: pino({ level: 'silent' }),
      intervalMs: 60_000,
    });
    metrics.inc('orders_accepted_total');

    // Act
    const flushes = [await exporter.flush(), await exporter.flush(), await exporter.flush()];

    // Assess: one PutMetricData per flush; each flush after the first carries the previous one.
    t.same(
      sent.map((s) => s.commandName),
      ['PutMetricDataCommand', 'PutMetricDataCommand', 'PutMetricDataCommand'],
    );
    t.same(
      flushes.map((f) => f.pending),
      [0, 0, 0],
    );
    const awsCallDatums = sent.map((s) =>
      ((s.input as { MetricData: { MetricName: string; Value?: number }[] }).MetricData ?? [])
        .filter((d) => d.MetricName === 'aws_calls_total')
        .map((d) => d.Value),
    );
    // Each count goes out twice: once by Service+Platform, once with the `api` dimension.
    t.same(awsCallDatums, [[], [1, 1], [1, 1]]);
  },
);

t.test('services built with the kit count their AWS calls in the registry they serve', async (t) => {
  t.test('Fastify (buildServiceApp)', async (t) => {
    const app = await buildServiceApp({ service: 'order', config: testConfig('order') });
    t.teardown(() => app.close());
    answerLocally(app.aws.sqs);

    await app.aws.sqs.send(new ListQueuesCommand({}));
    const { body } = await app.inject({ method: 'GET', url: '/api/orders/metrics' });

    t.equal(sumSeries(body, 'aws_calls_total', { api: 'sqs', operation: 'ListQueues' }), 1);
  });

  t.test('Express (createExpressKit)', async (t) => {
    const kit = createExpressKit({ service: 'menu', config: testConfig('menu') });
    t.teardown(() => kit.shutdown.run('test over'));
    answerLocally(kit.aws.s3);

    await kit.aws.s3.send(new ListBucketsCommand({}));
    const { body } = await kit.metrics.prometheus();

    t.equal(sumSeries(body, 'aws_calls_total', { api: 's3', operation: 'ListBuckets' }), 1);
  });
});
