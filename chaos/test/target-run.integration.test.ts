import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminTokenFile, LOCAL_AWS_CREDENTIALS, labPaths, REPO_ROOT } from '@cloudcafe/local-platform';
import t from 'tap';
import { labTarget } from '../src/target.js';

// One experiment file, run twice against the shared lab: once through the lab's state file
// (`--platform local`), once through a target file that names the same lab by its gateway and
// data-source endpoints. The second orchestrator is given an empty state folder and a port
// offset where nothing listens, so anything it read from `.cloudcafe/` or derived from the lab's
// ports would find no lab; it still passes its hypothesis, its fault, its load and its audit.
// A third run, the same hidden environment without the target, fails for want of the lab: the
// environment really hides it.

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-target-run-'));

/** Checkout under a little load, a slowed payment Lambda, and the audit over every data source. */
function experimentFile(): string {
  const file = join(dir, 'target-run.yaml');
  writeFileSync(
    file,
    `id: target-run
title: the same run through the lab and through a target file
description: written by the target-run test
tags: [test]
platforms: [local]
load: { scenario: checkout, rate: 2 }
steadyState:
  probes:
    - type: http
      name: an order is accepted
      method: POST
      path: /api/orders
      body: { customerId: target-run, items: [{ sku: ESPRESSO-DBL, quantity: 1 }] }
      timeout: 10s
      tolerance: { type: status, equals: 202 }
method:
  - type: fault
    name: slow Lambda invocations
    fault: { type: lambda-delay, delay: 200ms }
    duration: 3s
recovery: { within: 30s }
invariants: [no-lost-orders, no-double-charge, receipts-present]
`,
  );
  return file;
}

/** The running lab as a target file: nothing in it points into `.cloudcafe/`. */
function targetFile(): string {
  const { ordersDatabase, aws, paymentGateway } = labTarget.sources();
  const token = join(dir, 'admin-token');
  copyFileSync(adminTokenFile(labPaths()), token);
  const file = join(dir, 'target.json');
  writeFileSync(
    file,
    JSON.stringify({
      gateway: labTarget.gateway(),
      adminTokenFile: token,
      ordersDatabase,
      // the credentials come from the environment, as the SDK's chain reads them on AWS
      aws: { region: aws.region, endpoints: aws.endpoints },
      paymentGateway,
    }),
  );
  return file;
}

/** An environment with no lab in it: an empty state folder, ports shifted to where nothing runs. */
function withoutTheLab(): NodeJS.ProcessEnv {
  const offset = Number(process.env.CLOUDCAFE_PORT_OFFSET ?? 0);
  return {
    ...process.env,
    CLOUDCAFE_STATE_DIR: mkdtempSync(join(tmpdir(), 'cloudcafe-no-lab-')),
    // an offset no lab uses: anything derived from the lab's ports would reach nothing
    CLOUDCAFE_PORT_OFFSET: String(offset + 57),
    // the SDK's standard credential chain, as on AWS; the emulators accept any key
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
  };
}

async function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['chaos/bin/cloudcafe.js', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out };
}

const auditLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => / invariant /.test(l))
    .map((l) => l.replace(/^.*?(✓|✗)/, '$1').replace(/:.*$/, ''));

t.test(
  'the same experiment judges and audits the lab, through its state file and through a target file',
  async (t) => {
    // Prepare
    const file = experimentFile();
    const target = targetFile();
    const hidden = withoutTheLab();

    // Act
    const local = await cli(process.env, 'experiment', 'run', file, '--platform', 'local');
    const targeted = await cli(hidden, 'experiment', 'run', file, '--target', target);
    const blind = await cli(hidden, 'experiment', 'run', file);

    // Assess
    t.equal(local.code, 0, 'through the state file: passed');
    if (local.code !== 0) t.comment(local.out);
    t.equal(targeted.code, 0, 'through the target file: passed');
    if (targeted.code !== 0) t.comment(targeted.out);
    for (const run of [local, targeted]) {
      t.match(
        run.out,
        /✓ effect of "slow Lambda invocations": the Lambda runtime reports lambda-delay=200ms/,
      );
      t.match(run.out, /verdict: PASSED/);
    }
    const expected = [
      '✓ invariant no-lost-orders',
      '✓ invariant no-double-charge',
      '✓ invariant receipts-present',
    ];
    t.same(auditLines(local.out), expected, 'the lab run audited every invariant it names');
    t.same(auditLines(targeted.out), expected, 'and so did the target run, from the target’s sources');
    t.equal(blind.code, 1, 'without the target the hidden environment finds no lab');
    t.match(blind.out, /the lab is not up/);
    t.same(readdirSync(hidden.CLOUDCAFE_STATE_DIR as string), [], 'the target run kept nothing of a lab');
    t.notOk(
      readFileSync(target, 'utf8').includes('.cloudcafe'),
      'and its target file names nothing inside a state folder',
    );
  },
);
