import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchClient,
  DisableAlarmActionsCommand,
  EnableAlarmActionsCommand,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateExperimentTemplateCommand,
  DeleteExperimentTemplateCommand,
  FisClient,
  GetExperimentCommand,
  GetExperimentTemplateCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
} from '@aws-sdk/client-fis';
import { awsDriver, fisTemplate, isoDuration } from '@cloudcafe/aws-platform/driver';
import type { InjectContext } from '@cloudcafe/chaos-interface';
import { labPaths, localAwsEnv, readLabState } from '@cloudcafe/local-platform';
import t from 'tap';
import { type Drift, driftOf, snapshotOf } from '../../src/drift.js';
import type { Experiment } from '../../src/experiment/schema.js';
import { Journal } from '../../src/journal.js';
import { platformFor } from '../../src/platform.js';
import { runExperiment } from '../../src/runner.js';
import { labTarget } from '../../src/target.js';

// Against the lab's AWS emulator (moto), which serves the FIS control plane: templates, start,
// get, stop, with states moving pending → initiating → running → completed / stopping → stopped.
// It runs no fault (no task is stopped) and never evaluates alarms: these tests check what the
// driver asks FIS for and how it follows the experiment, not the fault itself.

Object.assign(process.env, localAwsEnv());
const ROLE = 'arn:aws:iam::123456789012:role/cloudcafe-fis-experiments';
const ALARMS = [
  'cloudcafe-checkout-5xx-rate',
  'cloudcafe-payment-dlq-not-empty',
  'cloudcafe-inventory-5xx-rate',
];
const fis = new FisClient({});
const cloudwatch = new CloudWatchClient({});

function context(durationMs = 30_000) {
  const events: { type: string; detail: Record<string, unknown> }[] = [];
  const ctx: InjectContext = {
    durationMs,
    revertInfo: (info) => events.push({ type: 'revert-info', detail: { ...info } }),
    record: (type, detail) => events.push({ type, detail: { ...detail } }),
  };
  return { ctx, events };
}

const motoApi = (path: string, body: unknown) =>
  fetch(`${process.env.AWS_ENDPOINT_URL}/moto-api/state-manager/${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  }).then((r) => {
    if (!r.ok) throw new Error(`moto state manager ${path}: ${r.status}`);
  });

t.before(async () => {
  // moto moves an experiment one state further on every read by default, so a poller would see
  // it complete in milliseconds; time-based transitions (2 s a step) behave like FIS instead.
  await motoApi('set-transition', {
    model_name: 'fis::experiment',
    transition: { progression: 'time', seconds: 2 },
  });
  // The stop-condition alarms CDK's observability stack creates, by name.
  for (const name of [...ALARMS, 'cloudcafe-menu-5xx-rate']) {
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        Namespace: 'CloudCafe',
        MetricName: 'http_errors_total',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 3,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  }
  // templates from earlier runs would be reused, hiding whether creation works
  const existing = await fis.send(new ListExperimentTemplatesCommand({}));
  for (const tpl of existing.experimentTemplates ?? [])
    await fis.send(new DeleteExperimentTemplateCommand({ id: tpl.id }));
});

t.teardown(() => motoApi('unset-transition', { model_name: 'fis::experiment' }));

t.test(
  'kill on an EKS service becomes aws:eks:pod-delete on chaos-labelled pods with alarm stop conditions',
  async (t) => {
    // Prepare
    const fault = { type: 'kill', process: 'inventory' } as const;

    // Act
    const template = fisTemplate(fault, 'cloudcafe-x-0', 30_000, {
      region: 'us-east-1',
      roleArn: ROLE,
      alarmArns: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:cloudcafe-inventory-5xx-rate'],
    });

    // Assess
    t.match(template.actions?.kill, { actionId: 'aws:eks:pod-delete', targets: { Pods: 'Pods' } });
    t.match(template.targets?.Pods, {
      resourceType: 'aws:eks:pod',
      selectionMode: 'PERCENT(50)',
      parameters: { selectorValue: 'app.kubernetes.io/name=inventory,cloudcafe.io/chaos=allowed' },
    });
    t.same(template.stopConditions, [
      {
        source: 'aws:cloudwatch:alarm',
        value: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:cloudcafe-inventory-5xx-rate',
      },
    ]);
    t.equal(template.roleArn, ROLE);
  },
);

t.test(
  'each vocabulary fault maps to the FIS action DESIGN.md names, or is refused with a reason',
  async (t) => {
    // Prepare
    const settings = { region: 'us-east-1', roleArn: ROLE, alarmArns: [] };
    const action = (fault: Parameters<typeof fisTemplate>[0]) =>
      Object.values(fisTemplate(fault, 'tag', 60_000, settings).actions ?? {})[0];

    // Act + Assess
    t.equal(action({ type: 'kill', process: 'order' })?.actionId, 'aws:ecs:stop-task');
    t.match(action({ type: 'kill', process: 'loyalty' }), {
      actionId: 'aws:ec2:stop-instances',
      parameters: { startInstancesAfterDuration: 'PT1M' },
    });
    t.equal(action({ type: 'pause', process: 'analytics' })?.actionId, 'aws:ec2:stop-instances');
    t.match(action({ type: 'latency', link: 'order-to-inventory', latencyMs: 200 }), {
      actionId: 'aws:ecs:task-network-latency',
      parameters: { delayMilliseconds: '200', duration: 'PT1M' },
    });
    t.equal(
      action({ type: 'latency', link: 'menu-to-redis', latencyMs: 200 })?.actionId,
      'aws:eks:pod-network-latency',
    );
    t.match(action({ type: 'partition', link: 'order-to-postgres' }), {
      actionId: 'aws:ecs:task-network-blackhole-port',
      parameters: { port: '5432', trafficType: 'egress' },
    });
    t.equal(
      action({ type: 'partition', link: 'loyalty-to-redis' })?.actionId,
      'aws:network:disrupt-connectivity',
    );
    t.equal(action({ type: 'cpu-stress', service: 'order' })?.actionId, 'aws:ecs:task-cpu-stress');
    t.equal(action({ type: 'cpu-stress', service: 'menu' })?.actionId, 'aws:eks:pod-cpu-stress');
    t.equal(action({ type: 'db-failover' })?.actionId, 'aws:rds:failover-db-cluster');
    t.match(action({ type: 'cache-outage' }), {
      actionId: 'aws:elasticache:replicationgroup-interrupt-az-power',
      parameters: { duration: 'PT1M' },
    });
    t.match(action({ type: 'lambda-delay', delay: '1s' }), {
      actionId: 'aws:lambda:invocation-add-delay',
      parameters: { startupDelayMilliseconds: '1000' },
    });
    t.match(action({ type: 'lambda-error', rate: '25%' }), {
      actionId: 'aws:lambda:invocation-error',
      parameters: { invocationPercentage: '25', preventExecution: 'true' },
    });
    const driver = awsDriver({});
    t.match(driver.unsupported({ type: 'dependency-errors', service: 'order', rate: '10%' }), /fault flag/);
    t.match(driver.unsupported({ type: 'pause', process: 'inventory' }), /only EC2/);
    t.match(
      driver.unsupported({ type: 'kill', process: 'placeholder' }),
      /not a CloudCafe service deployed on AWS/,
    );
    t.match(driver.unsupported({ type: 'kill', process: 'payment' }), /Lambda/);
    t.equal(isoDuration(90_000), 'PT1M30S');
    t.equal(isoDuration(5_000), 'PT5S');
  },
);

t.test(
  'run: creates the template, starts it, polls state into the journal, stops it on revert (emulator FIS)',
  async (t) => {
    // Prepare
    const driver = awsDriver({ roleArn: ROLE }, { pollMs: 100 });
    const { ctx, events } = context();

    // Act
    const active = await driver.inject({ type: 'kill', process: 'inventory' }, 'cloudcafe-run-0', ctx);
    const effect = await active.verify();
    const revert = await active.revert();

    // Assess
    const info = events.filter((e) => e.type === 'revert-info').map((e) => e.detail);
    t.ok(info[0]?.templateId && !info[0]?.experimentId, 'the template is journalled before the start');
    t.ok(info[1]?.experimentId, 'the experiment id is journalled as soon as it exists');
    const templateId = String(info[0]?.templateId);
    const stored = (await fis.send(new GetExperimentTemplateCommand({ id: templateId }))).experimentTemplate;
    t.equal(stored?.roleArn, ROLE);
    t.same(
      stored?.stopConditions?.map((s) => s.value?.split(':alarm:')[1]),
      ALARMS,
      'stopped by the checkout, DLQ and inventory alarms, by their CDK names',
    );
    t.equal(stored?.tags?.['cloudcafe:chaos'], 'allowed');
    t.ok(effect.verified, effect.detail);
    t.match(effect.detail, /running/);
    const states = events.filter((e) => e.type === 'fis.state').map((e) => e.detail.status);
    t.ok(states.includes('running'), `states journalled: ${states.join(' → ')}`);
    t.ok(revert.verified, revert.detail);
    t.match(revert.detail, /stopped/);
  },
);

t.test('the same fault twice reuses its template instead of creating another (emulator FIS)', async (t) => {
  // Prepare
  const driver = awsDriver({ roleArn: ROLE }, { pollMs: 100 });
  const first = context();
  const second = context();

  // Act
  const a = await driver.inject({ type: 'kill', process: 'menu' }, 'cloudcafe-run-1', first.ctx);
  await a.revert();
  const b = await driver.inject({ type: 'kill', process: 'menu' }, 'cloudcafe-run-2', second.ctx);
  await b.revert();

  // Assess
  const templateOf = (events: typeof first.events) => events.find((e) => e.type === 'fis.template')?.detail;
  t.equal(templateOf(first.events)?.reused, false);
  t.equal(templateOf(second.events)?.reused, true);
  t.equal(templateOf(second.events)?.templateId, templateOf(first.events)?.templateId);
});

t.test('undo from the journal stops the experiment a crashed run left running (emulator FIS)', async (t) => {
  // Prepare: one experiment is running, as when the orchestrator sees an SLO breach
  const driver = awsDriver({ roleArn: ROLE }, { pollMs: 100 });
  const crashed = context();
  await driver.inject({ type: 'kill', process: 'order' }, 'cloudcafe-run-3', crashed.ctx);
  const info = crashed.events.filter((e) => e.type === 'revert-info').at(-1)?.detail;

  // Act: a new process (the crashed one is gone) undoes it from the journal
  const effect = await awsDriver({ roleArn: ROLE }).undo?.({
    name: 'kill order',
    spec: { type: 'kill', process: 'order' },
    tag: 'cloudcafe-run-3',
    revertInfo: info,
  });

  // Assess
  t.match(effect?.detail, /stop/);
  const after = await fis.send(new GetExperimentCommand({ id: String(info?.experimentId) }));
  t.match(after.experiment?.state?.status, /^(stopping|stopped)$/);
});

t.test(
  "the account is searched: halt's sweep stops this driver's running experiments, and no other (emulator FIS)",
  async (t) => {
    // Prepare: a crashed run's experiment (no journal here) and one of a template someone else made
    const driver = awsDriver({ roleArn: ROLE }, { pollMs: 100 });
    await driver.inject({ type: 'kill', process: 'menu' }, 'cloudcafe-orphan-0', context().ctx);
    const foreign = await fis.send(
      new CreateExperimentTemplateCommand({
        clientToken: `foreign-${Date.now()}`,
        description: 'not CloudCafe',
        roleArn: ROLE,
        stopConditions: [{ source: 'none' }],
        actions: { wait: { actionId: 'aws:fis:wait', parameters: { duration: 'PT5M' } } },
      }),
    );
    const theirs = await fis.send(
      new StartExperimentCommand({
        experimentTemplateId: foreign.experimentTemplate?.id,
        clientToken: `foreign-run-${Date.now()}`,
      }),
    );
    t.teardown(() =>
      fis.send(new StopExperimentCommand({ id: String(theirs.experiment?.id) })).catch(() => {}),
    );

    // Act
    const owed = await awsDriver({ roleArn: ROLE }).sweep?.({ expiredOnly: true });
    const swept = await awsDriver({ roleArn: ROLE }).sweep?.({ expiredOnly: false });

    // Assess
    t.same(owed, [], 'FIS holds each duration itself: nothing is ever past its deadline');
    const ours = swept?.find((f) => f.tag === 'cloudcafe-orphan-0');
    t.ok(ours?.effect?.verified, ours?.effect?.detail ?? 'no sweep of cloudcafe-orphan-0');
    const id = ours?.resource.replace('fis experiment ', '') ?? '';
    t.match(
      (await fis.send(new GetExperimentCommand({ id }))).experiment?.state?.status,
      /^(stopping|stopped)$/,
    );
    t.notOk(
      swept?.some((f) => f.resource === `fis experiment ${theirs.experiment?.id}`),
      'the experiment of a template the driver did not make is not in the sweep',
    );
    t.notMatch(
      (await fis.send(new GetExperimentCommand({ id: String(theirs.experiment?.id) }))).experiment?.state
        ?.status,
      /^(stopping|stopped)$/,
      'and it runs on',
    );
  },
);

t.test('refuses to start without its stop-condition alarms or without a role (emulator FIS)', async (t) => {
  // Prepare
  const noAlarm = awsDriver({ roleArn: ROLE, stopAlarms: ['cloudcafe-no-such-alarm'] });
  const noRole = awsDriver({});
  delete process.env.CLOUDCAFE_FIS_ROLE_ARN;

  // Act + Assess
  await t.rejects(
    noAlarm.inject({ type: 'kill', process: 'inventory' }, 'x', context().ctx),
    /cloudcafe-no-such-alarm/,
  );
  await t.rejects(noRole.inject({ type: 'kill', process: 'inventory' }, 'x', context().ctx), /--role-arn/);
});

t.test(
  "the orchestrator's own abort (an SLO probe failing) stops the FIS experiment within seconds (emulator FIS)",
  async (t) => {
    // Prepare: a 5-minute kill whose abort condition fails at once, as during an SLO breach
    const state = readLabState(labPaths());
    const service = state?.services[0];
    if (!state || !service) throw new Error('the lab is not up');
    const health = service.health.replace(state.gateway, '');
    const experiment: Experiment = {
      id: 'fis-abort',
      title: 'FIS stopped by the orchestrator',
      description: 'abort path',
      tags: [],
      platforms: ['aws'],
      steadyState: {
        probes: [{ type: 'http', name: 'healthy', path: health, tolerance: { type: 'status', equals: 200 } }],
      },
      method: [
        {
          type: 'fault',
          name: 'kill inventory',
          fault: { type: 'kill', process: 'inventory' },
          duration: '5m',
        },
      ],
      abort: [
        {
          name: 'slo breached',
          probe: {
            type: 'http',
            name: 'breach',
            path: '/api/inventory/no-such-route',
            tolerance: { type: 'status', equals: 200 },
          },
          for: '1s',
        },
      ],
      recovery: { within: '10s' },
    };
    const journal = new Journal(
      'fis-abort',
      { platform: 'aws' },
      mkdtempSync(join(tmpdir(), 'cloudcafe-fis-')),
    );

    // Act
    const started = Date.now();
    const result = await runExperiment(experiment, {
      // the lab's entry stands in for the deployed stack's: the probes need a system to judge
      platform: platformFor('aws', { roleArn: ROLE }, labTarget),
      journal,
      signal: new AbortController().signal,
    });

    // Assess
    t.equal(result.verdict, 'aborted');
    t.ok(Date.now() - started < 60_000, 'ended long before the 5-minute fault');
    const id = journal.events.filter((e) => e.type === 'fault.revert-info').at(-1)?.revert as {
      experimentId?: string;
    };
    t.ok(id?.experimentId, 'the experiment id is in the journal');
    const after = await fis.send(new GetExperimentCommand({ id: String(id.experimentId) }));
    t.match(after.experiment?.state?.status, /^(stopping|stopped)$/, 'FIS was told to stop');
    t.match(result.faults[0]?.revert?.detail ?? '', /stopped/);
  },
);

t.test(
  'the dry-run template is one FIS accepts as printed, with its stop conditions (emulator FIS)',
  async (t) => {
    // Prepare
    process.env.AWS_ACCOUNT_ID = '123456789012';
    t.teardown(() => {
      delete process.env.AWS_ACCOUNT_ID;
    });
    const lines = awsDriver({}).plan?.({ type: 'kill', process: 'order' }, 'cloudcafe-dry-0', 5000) ?? [];

    // Act
    const start = lines.findIndex((l) => l.startsWith('CreateExperimentTemplate'));
    const end = lines.findIndex((l) => l.startsWith('targets it resolves'));
    const printed = JSON.parse(lines.slice(start + 1, end).join('\n'));
    const created = await fis.send(
      new CreateExperimentTemplateCommand({ ...printed, clientToken: 'dry-run-check' }),
    );

    // Assess
    t.equal(created.experimentTemplate?.actions?.kill?.actionId, 'aws:ecs:stop-task');
    t.same(
      created.experimentTemplate?.stopConditions?.map((s) => s.source),
      ['aws:cloudwatch:alarm', 'aws:cloudwatch:alarm'],
    );
    t.match(lines.join('\n'), /Tasks: aws:ecs:task PERCENT\(50\) tagged cloudcafe:chaos=allowed/);
  },
);

t.test(
  'drift: a stopped experiment leaves none; one left running and alarm actions disabled are named (emulator FIS)',
  async (t) => {
    // Prepare
    const driver = awsDriver({ roleArn: ROLE }, { pollMs: 100 });
    const mine = (drift: Drift) =>
      drift.entries.filter((e) => e.what.startsWith('alarm ') || ids.some((id) => e.what.endsWith(id)));
    const ids: string[] = [];
    const idOf = (c: ReturnType<typeof context>) =>
      String(c.events.filter((e) => e.type === 'revert-info').at(-1)?.detail.experimentId);
    const before = await snapshotOf(driver);
    const reverted = context();
    const active = await driver.inject({ type: 'kill', process: 'order' }, 'cloudcafe-drift-0', reverted.ctx);
    ids.push(idOf(reverted));
    await active.revert();
    const afterClean = await snapshotOf(driver);

    // Act: what a careless run leaves: an experiment still running, an alarm's actions disabled
    const leftover = context();
    await driver.inject({ type: 'kill', process: 'order' }, 'cloudcafe-drift-1', leftover.ctx);
    ids.push(idOf(leftover));
    await cloudwatch.send(new DisableAlarmActionsCommand({ AlarmNames: [ALARMS[0] as string] }));
    t.teardown(async () => {
      await cloudwatch.send(new EnableAlarmActionsCommand({ AlarmNames: [ALARMS[0] as string] }));
      await fis.send(new StopExperimentCommand({ id: ids[1] })).catch(() => {});
    });
    const drift = driftOf(before, await snapshotOf(driver));

    // Assess
    const clean = driftOf(before, afterClean);
    t.ok(clean.certified);
    t.same(mine(clean), [], 'the stopped experiment is not drift; no alarm changed');
    const [alarm, experiment, ...rest] = mine(drift);
    t.equal(alarm?.what, `alarm ${ALARMS[0]}`);
    t.match(alarm?.after, /, actions disabled$/);
    t.notMatch(alarm?.before, /actions disabled/);
    t.equal(experiment?.what, `fis experiment ${ids[1]}`);
    t.equal(experiment?.before, undefined, 'not there before the run');
    t.match(experiment?.after, /^(pending|initiating|running) \(template /);
    t.same(rest, []);
  },
);
