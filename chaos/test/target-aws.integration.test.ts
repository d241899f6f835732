import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SECRET_NAMES, STACK_NAMES, STACK_OUTPUTS } from '@cloudcafe/contracts';
import { localAwsEnv } from '@cloudcafe/local-platform';
import t from 'tap';
import { writeAwsTarget } from '../src/commands/target.js';
import { targetFromFile } from '../src/target.js';

// `cloudcafe target aws` against the lab's emulator (moto's CloudFormation and Secrets
// Manager): two stacks carrying the outputs the CDK app declares (their names come from the same
// registry, and platforms/aws/test/app.test.ts checks the synthesized stacks carry them),
// and the two secrets. What moto cannot show: that the real stacks' outputs resolve to a
// reachable ALB and Aurora host; a deployment does.

const env = localAwsEnv();
const clientConfig = {
  endpoint: env.AWS_ENDPOINT_URL,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
};
const region = env.AWS_REGION ?? 'us-east-1';
const cloudformation = new CloudFormationClient({ region, ...clientConfig });
const secrets = new SecretsManagerClient({ region, ...clientConfig });
t.teardown(() => {
  cloudformation.destroy();
  secrets.destroy();
});

/** A stack whose only purpose is its one output. */
async function stackWithOutput(name: string, key: string, value: string) {
  await cloudformation.send(
    new CreateStackCommand({
      StackName: name,
      TemplateBody: JSON.stringify({
        Resources: { Marker: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${name}-marker` } } },
        Outputs: { [key]: { Value: value } },
      }),
    }),
  );
  t.teardown(() => cloudformation.send(new DeleteStackCommand({ StackName: name })).catch(() => {}));
}

async function secretNamed(name: string, value: string) {
  await secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  t.teardown(() =>
    secrets
      .send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }))
      .catch(() => {}),
  );
}

t.test('a region where the stacks are not deployed is refused, naming the stack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-aws-target-'));
  // moto keeps each region apart: nothing of the test above is in this one
  await t.rejects(writeAwsTarget({ region: 'ap-south-1', dir, clientConfig }), /CloudCafe-(Edge|Data)/);
});

t.test('the target file of a deployed stack, from its outputs and secrets', async (t) => {
  // Prepare
  await stackWithOutput(
    STACK_NAMES.edge,
    STACK_OUTPUTS.publicUrl,
    'https://cafe-alb-123.eu-west-1.elb.amazonaws.com/',
  );
  await stackWithOutput(
    STACK_NAMES.data,
    STACK_OUTPUTS.ordersDatabaseHost,
    'aurora.cluster-x.eu-west-1.rds.amazonaws.com',
  );
  await secretNamed(SECRET_NAMES.adminToken, 'the-admin-token');
  await secretNamed(
    SECRET_NAMES.auroraCredentials,
    JSON.stringify({ username: 'cloudcafe', password: 'pw123' }),
  );
  const dir = join(mkdtempSync(join(tmpdir(), 'cloudcafe-aws-target-')), 'out');

  // Act
  const direct = await writeAwsTarget({ region, dir, clientConfig });
  const directTarget = JSON.parse(readFileSync(direct.file, 'utf8'));
  const tunnelled = await writeAwsTarget({ region, dir, clientConfig, ordersDatabaseVia: '127.0.0.1:15432' });

  // Assess
  t.same(directTarget, {
    gateway: 'https://cafe-alb-123.eu-west-1.elb.amazonaws.com',
    adminTokenFile: join(dir, 'admin-token'),
    ordersDatabase:
      'postgres://cloudcafe@aurora.cluster-x.eu-west-1.rds.amazonaws.com:5432/cloudcafe_orders?sslmode=no-verify',
    aws: { region },
  });
  t.notMatch(readFileSync(direct.file, 'utf8'), /pw123|the-admin-token/, 'no secret in the target file');
  t.equal(readFileSync(join(dir, 'admin-token'), 'utf8'), 'the-admin-token\n');
  t.equal(readFileSync(tunnelled.pgpass, 'utf8'), '127.0.0.1:15432:cloudcafe_orders:cloudcafe:pw123\n');
  for (const file of ['admin-token', 'pgpass'])
    t.equal(statSync(join(dir, file)).mode & 0o777, 0o600, `${file} is 0600`);
  const target = targetFromFile(tunnelled.file);
  t.equal(
    target.gateway(),
    'https://cafe-alb-123.eu-west-1.elb.amazonaws.com',
    'the run accepts it as a target',
  );
  t.equal(target.adminToken(), 'the-admin-token');
  t.match(target.sources().ordersDatabase, /^postgres:\/\/cloudcafe@127\.0\.0\.1:15432\/cloudcafe_orders/);
  t.same(target.sources().aws, { region, endpoints: {} }, 'AWS itself, through the standard chain');
});
