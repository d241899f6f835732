import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ORDERS_DATABASE, SECRET_NAMES, STACK_NAMES, STACK_OUTPUTS } from '@cloudcafe/contracts';
import type { Command } from 'commander';
import type { TargetFile } from '../target.js';

/**
 * `cloudcafe target aws`: the target file of a deployed stack, from its CloudFormation outputs
 * and its secrets, through the SDK's standard credential chain. It writes three files into one
 * folder: `target.json` (no secret in it), `admin-token` and `pgpass` (both mode 0600; the audit
 * reads the Aurora password through `PGPASSFILE`). Aurora is in private subnets, so the audit
 * reaches it through a tunnel: `--orders-database-via 127.0.0.1:15432` puts the tunnel's end in
 * the target instead of the cluster's host.
 */

export interface AwsTargetOptions {
  readonly region: string;
  /** Where the three files go. */
  readonly dir: string;
  /** `host:port` of a tunnel to Aurora; the cluster's own host and 5432 when absent. */
  readonly ordersDatabaseVia?: string;
  /** SDK client settings for tests against an emulator (endpoint, credentials). */
  readonly clientConfig?: Record<string, unknown>;
}

/** One output of one stack, or an error naming both. */
async function output(cloudformation: CloudFormationClient, stack: string, key: string): Promise<string> {
  const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
  // a deleted stack can still be described (by id, and by some emulators by name): not deployed
  const live = Stacks.find((s) => s.StackStatus !== 'DELETE_COMPLETE');
  const value = live?.Outputs?.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new Error(`stack ${stack} has no output ${key}: is it deployed from this version?`);
  return value;
}

async function secret(secrets: SecretsManagerClient, name: string): Promise<string> {
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
  if (!SecretString) throw new Error(`secret ${name} has no string value`);
  return SecretString;
}

/** A file only its owner can read: written empty at 0600 first, so the secret never sits wider. */
function privateFile(file: string, content: string): void {
  writeFileSync(file, '', { mode: 0o600 });
  chmodSync(file, 0o600);
  writeFileSync(file, content);
}

export async function writeAwsTarget(options: AwsTargetOptions): Promise<{ file: string; pgpass: string }> {
  const config = { region: options.region, ...options.clientConfig };
  const cloudformation = new CloudFormationClient(config);
  const secrets = new SecretsManagerClient(config);
  try {
    // the stacks first: a region or account without them is named as such, not as a missing secret
    const [gateway, clusterHost] = await Promise.all([
      output(cloudformation, STACK_NAMES.edge, STACK_OUTPUTS.publicUrl),
      output(cloudformation, STACK_NAMES.data, STACK_OUTPUTS.ordersDatabaseHost),
    ]);
    const [adminToken, aurora] = await Promise.all([
      secret(secrets, SECRET_NAMES.adminToken),
      secret(secrets, SECRET_NAMES.auroraCredentials),
    ]);
    const { username, password } = JSON.parse(aurora) as { username: string; password: string };
    const [host, port] = (options.ordersDatabaseVia ?? `${clusterHost}:5432`).split(':');
    mkdirSync(options.dir, { recursive: true });
    const tokenFile = resolve(options.dir, 'admin-token');
    privateFile(tokenFile, `${adminToken}\n`);
    const pgpass = resolve(options.dir, 'pgpass');
    // the pgpass format: host:port:database:user:password
    privateFile(pgpass, `${host}:${port}:${ORDERS_DATABASE}:${username}:${password}\n`);
    const target: TargetFile = {
      gateway: gateway.replace(/\/+$/, ''),
      adminTokenFile: tokenFile,
      // Aurora forces TLS (rds.force_ssl). Through a tunnel the certificate cannot match the
      // host name (127.0.0.1), so it is not verified: TLS still encrypts, the tunnel (SSM, with
      // IAM) is what authenticates the far end.
      ordersDatabase: `postgres://${username}@${host}:${port}/${ORDERS_DATABASE}?sslmode=no-verify`,
      aws: { region: options.region },
    };
    const file = join(options.dir, 'target.json');
    writeFileSync(file, `${JSON.stringify(target, null, 2)}\n`);
    return { file, pgpass };
  } finally {
    cloudformation.destroy();
    secrets.destroy();
  }
}

export function registerTargetCommand(program: Command): void {
  const target = program
    .command('target')
    .description('write the target file (--target) of a deployed CloudCafe');
  target
    .command('aws')
    .description(
      "from the CDK stacks' outputs and secrets (SDK credential chain): target.json, admin-token, pgpass",
    )
    .option('--region <region>', 'the stacks’ region (default: AWS_REGION)')
    .option('--out <dir>', 'where the files go', 'cloudcafe-target')
    .option('--orders-database-via <host:port>', 'a tunnel to Aurora (it is private), e.g. 127.0.0.1:15432')
    .action(async (opts: { region?: string; out: string; ordersDatabaseVia?: string }) => {
      const region = opts.region ?? process.env.AWS_REGION;
      if (!region) throw new Error('no region: pass --region or set AWS_REGION');
      if (opts.ordersDatabaseVia && !/^[^:]+:\d+$/.test(opts.ordersDatabaseVia))
        throw new Error('--orders-database-via must be host:port, e.g. 127.0.0.1:15432');
      const { file, pgpass } = await writeAwsTarget({
        region,
        dir: opts.out,
        ...(opts.ordersDatabaseVia ? { ordersDatabaseVia: opts.ordersDatabaseVia } : {}),
      });
      process.stdout.write(
        `wrote ${file}\nrun with: PGPASSFILE=${pgpass} npx cloudcafe experiment run <id> --platform aws --target ${file} --yes\n`,
      );
    });
}
