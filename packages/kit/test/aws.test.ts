import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import t from 'tap';
import { createAwsClients } from '../src/aws.js';

t.test('clients are created once, on first use', async (t) => {
  const aws = createAwsClients({ region: 'eu-west-1' });
  t.teardown(() => aws.destroy());

  t.equal(aws.sqs, aws.sqs);
  t.equal(aws.documentClient, aws.documentClient);
  t.equal(await aws.s3.config.region(), 'eu-west-1');
  t.equal(
    aws.cloudwatch.config.maxAttempts instanceof Function ? await aws.cloudwatch.config.maxAttempts() : 0,
    3,
  );
});

t.test('the endpoint comes from AWS_ENDPOINT_URL_SQS, read by the SDK itself', async (t) => {
  // Where a request would go is observed at the last middleware step, before any socket opens.
  process.env.AWS_ENDPOINT_URL_SQS = 'http://127.0.0.1:45999';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  t.teardown(() => {
    delete process.env.AWS_ENDPOINT_URL_SQS;
  });
  const aws = createAwsClients({ region: 'us-east-1' });
  t.teardown(() => aws.destroy());
  let target: { hostname?: string; port?: number; protocol?: string } | undefined;
  aws.sqs.middlewareStack.add(
    () => async (args) => {
      target = args.request as typeof target;
      throw new Error('stop before sending');
    },
    { step: 'finalizeRequest', priority: 'low' },
  );

  await t.rejects(aws.sqs.send(new ListQueuesCommand({})), /stop before sending/);

  t.match(target, { protocol: 'http:', hostname: '127.0.0.1', port: 45999 });
});

t.test('without endpoint variables the real AWS endpoint is used', async (t) => {
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_SQS;
  const aws = createAwsClients({ region: 'eu-west-1' });
  t.teardown(() => aws.destroy());
  let target: { hostname?: string } | undefined;
  aws.sqs.middlewareStack.add(
    () => async (args) => {
      target = args.request as typeof target;
      throw new Error('stop before sending');
    },
    { step: 'finalizeRequest', priority: 'low' },
  );

  await t.rejects(aws.sqs.send(new ListQueuesCommand({})), /stop before sending/);

  t.equal(target?.hostname, 'sqs.eu-west-1.amazonaws.com');
});
