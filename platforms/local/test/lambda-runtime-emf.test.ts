import type { SQSClient } from '@aws-sdk/client-sqs';
import { createEmfLogger, createLogger, createMetrics, type FlagStore, sumSeries } from '@cloudcafe/kit';
import t from 'tap';
import type { InstancePool } from '../src/lambda-runtime/instance-pool.js';
import { LambdaRuntime } from '../src/lambda-runtime/runtime.js';

// The runtime's EMF bridge on its own: the lines come from the kit's real EMF logger, the
// counts land in a real registry. Queue, instance pool and flags are stubs because bridging a
// line touches none of them (the end-to-end path runs in lambda-runtime.integration.test.ts on the lab).

const metricsOf = () => createMetrics({ service: 'payment', platform: 'local', processMetrics: false });

t.test(
  "the function's AWS calls become the runtime's aws_calls_total, per API, once (stubbed queue, pool, flags)",
  async (t) => {
    // Prepare: the function made 2 DynamoDB puts and 1 S3 put in one invocation; the runtime
    // itself polled the queue 5 times.
    const fn = metricsOf();
    fn.inc('aws_calls_total', { api: 'dynamodb', operation: 'PutItem' }, 2);
    fn.inc('aws_calls_total', { api: 's3', operation: 'PutObject' });
    const lines: string[] = [];
    createEmfLogger({ metrics: fn, write: (line) => lines.push(line) }).flush();
    const own = metricsOf();
    own.inc('aws_calls_total', { api: 'sqs', operation: 'ReceiveMessage' }, 5);
    const runtime = new LambdaRuntime(
      {
        functionName: 'cloudcafe-payment',
        queueUrl: 'http://127.0.0.1:1/queue/requests',
        dlqUrl: undefined,
        batchSize: 10,
        batchWindowMs: 0,
        maxConcurrency: 1,
        timeoutMs: 1000,
        initTimeoutMs: 1000,
        visibilitySeconds: 30,
        retryBaseSeconds: 1,
        retryMaxSeconds: 30,
      },
      {} as SQSClient,
      {} as InstancePool,
      {} as FlagStore,
      own,
      createLogger({ service: 'payment', level: 'silent' }),
    );
    // Act
    for (const line of lines) runtime.bridgeLine(line);
    // Assess: each datum counted once (EMF writes it summed and per api), operation unknown.
    const text = (await own.prometheus()).body;
    t.equal(sumSeries(text, 'aws_calls_total', { api: 'dynamodb', operation: 'unknown' }), 2);
    t.equal(sumSeries(text, 'aws_calls_total', { api: 's3', operation: 'unknown' }), 1);
    t.equal(sumSeries(text, 'aws_calls_total', { api: 'sqs', operation: 'ReceiveMessage' }), 5);
    t.equal(sumSeries(text, 'aws_calls_total'), 8, 'nothing counted twice');
  },
);
