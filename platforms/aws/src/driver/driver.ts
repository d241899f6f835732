import { createHash, randomUUID } from 'node:crypto';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateExperimentTemplateCommand,
  type Experiment,
  FisClient,
  GetExperimentCommand,
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
} from '@aws-sdk/client-fis';
import type {
  ActiveFault,
  Driver,
  DriverOptions,
  Effect,
  Fault,
  InjectContext,
  JournalledFault,
  SweptFault,
} from '@cloudcafe/chaos-interface';
import { FIS_ROLE_NAME } from '../names.js';
import { awsSnapshot } from './snapshot.js';
import { defaultStopAlarms, fisTemplate, serviceOf, TEMPLATE_HASH_TAG, unmapped } from './template.js';

/**
 * The aws driver: each fault becomes an AWS FIS experiment. The template (targets by the tag
 * `cloudcafe:chaos=allowed`, stop conditions on the lab's CloudWatch alarms, the least-privilege
 * role from configuration) is created once and reused by its content hash; the experiment is
 * started, its state polled into the journal, and stopped on revert — which the runner calls at
 * the end, on Ctrl-C and on its own abort (an SLO breach seen at 1 Hz), so the lab does not wait
 * for a CloudWatch alarm's minutes-long evaluation to end the damage.
 */

const TERMINAL = new Set(['completed', 'stopped', 'failed', 'cancelled']);
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 60_000;

export interface AwsTuning {
  /** How often a running experiment's state is read; FIS itself updates it every few seconds. */
  readonly pollMs: number;
}

interface Settings {
  readonly region: string;
  readonly roleArn: string | undefined;
  readonly stopAlarms: readonly string[] | undefined;
}

const settingsOf = (options: DriverOptions): Settings => ({
  region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  roleArn: options.roleArn ?? process.env.CLOUDCAFE_FIS_ROLE_ARN,
  stopAlarms: options.stopAlarms,
});

const alarmNamesFor = (s: Settings, fault: Fault) => s.stopAlarms ?? defaultStopAlarms(serviceOf(fault));

/** Content hash of a template (tags aside), so re-running an experiment reuses its template. */
function templateHash(template: object): string {
  const { tags: _tags, ...body } = template as { tags?: unknown };
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}

async function alarmArns(cloudwatch: CloudWatchClient, names: readonly string[]): Promise<string[]> {
  const found = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [...names] }));
  const arns = new Map((found.MetricAlarms ?? []).map((a) => [a.AlarmName, a.AlarmArn]));
  for (const a of found.CompositeAlarms ?? []) arns.set(a.AlarmName, a.AlarmArn);
  const missing = names.filter((n) => !arns.get(n));
  // No FIS experiment starts without its stop conditions: that is the lab's seat belt.
  if (missing.length > 0)
    throw new Error(
      `stop-condition alarm(s) not found in CloudWatch: ${missing.join(', ')} (see --stop-alarms)`,
    );
  return names.map((n) => arns.get(n) as string);
}

function describe(e: Experiment | undefined): string {
  const actions = Object.entries(e?.actions ?? {})
    .map(([name, a]) => `${name} ${a.state?.status ?? '?'}`)
    .join(', ');
  return `${e?.state?.status ?? 'unknown'}${e?.state?.reason ? ` (${e.state.reason})` : ''}${actions ? `; actions: ${actions}` : ''}`;
}

async function fisFault(
  fis: FisClient,
  cloudwatch: CloudWatchClient,
  s: Settings,
  tuning: AwsTuning,
  fault: Fault,
  tag: string,
  ctx: InjectContext | undefined,
): Promise<ActiveFault> {
  if (!s.roleArn)
    throw new Error(
      'the aws driver needs the FIS role ARN: --role-arn or CLOUDCAFE_FIS_ROLE_ARN (CDK output FisRole)',
    );
  const durationMs = ctx?.durationMs ?? 60_000;
  const arns = await alarmArns(cloudwatch, alarmNamesFor(s, fault));
  const template = fisTemplate(fault, tag, durationMs, {
    region: s.region,
    roleArn: s.roleArn,
    alarmArns: arns,
  });
  const hash = templateHash(template);
  const existing = await fis.send(new ListExperimentTemplatesCommand({}));
  let templateId = existing.experimentTemplates?.find((t) => t.tags?.[TEMPLATE_HASH_TAG] === hash)?.id;
  const reused = templateId !== undefined;
  if (!templateId) {
    const created = await fis.send(
      new CreateExperimentTemplateCommand({
        ...template,
        clientToken: randomUUID(),
        tags: { ...template.tags, [TEMPLATE_HASH_TAG]: hash },
      }),
    );
    templateId = created.experimentTemplate?.id;
    if (!templateId) throw new Error('FIS created a template but returned no id');
  }
  ctx?.record('fis.template', { templateId, reused, template });
  // journalled before the start: a crash right after it can still find and stop the experiment
  ctx?.revertInfo({ platform: 'aws', templateId });
  const started = await fis.send(
    new StartExperimentCommand({
      experimentTemplateId: templateId,
      clientToken: randomUUID(),
      tags: { Name: tag },
    }),
  );
  const experimentId = started.experiment?.id;
  if (!experimentId) throw new Error(`FIS started template ${templateId} but returned no experiment id`);
  ctx?.revertInfo({ platform: 'aws', templateId, experimentId });

  let last: Experiment | undefined = started.experiment;
  const read = async () => {
    const got = (await fis.send(new GetExperimentCommand({ id: experimentId }))).experiment;
    if (got?.state?.status !== last?.state?.status)
      ctx?.record('fis.state', { experimentId, status: got?.state?.status, reason: got?.state?.reason });
    last = got;
    return got;
  };
  const poller = setInterval(() => {
    void read().catch(() => {});
  }, tuning.pollMs);
  // the journal's view of a running experiment must never keep the CLI alive on its own
  poller.unref();
  const until = async (done: (status: string) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    let e = await read();
    while (!done(e?.state?.status ?? '') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, tuning.pollMs));
      e = await read();
    }
    return e;
  };
  let reverted: Effect | undefined;
  return {
    fault,
    revertPlan: `StopExperiment ${experimentId} (template ${templateId})`,
    async verify(): Promise<Effect> {
      const e = await until((st) => st === 'running' || TERMINAL.has(st), START_TIMEOUT_MS);
      const status = e?.state?.status ?? 'unknown';
      return {
        verified: status === 'running' || status === 'completed',
        detail: `FIS experiment ${experimentId} from ${reused ? 'reused' : 'new'} template ${templateId}: ${describe(e)}`,
      };
    },
    async revert(): Promise<Effect> {
      if (reverted) return reverted;
      clearInterval(poller);
      const before = await read();
      if (!TERMINAL.has(before?.state?.status ?? '')) {
        await fis.send(new StopExperimentCommand({ id: experimentId }));
      }
      const e = await until((st) => TERMINAL.has(st), STOP_TIMEOUT_MS);
      const status = e?.state?.status ?? 'unknown';
      reverted = {
        verified: status === 'stopped' || status === 'completed',
        detail: `FIS experiment ${experimentId} ended ${describe(e)}`,
      };
      return reverted;
    },
  };
}

/** The calls and the template a fault would use, for `--dry-run` (touches nothing). */
function plan(s: Settings, fault: Fault, tag: string, durationMs: number): string[] {
  const reason = unmapped(fault);
  if (reason) return [`refused: ${reason}`];
  const names = alarmNamesFor(s, fault);
  // AWS_ACCOUNT_ID (read by the SDK too) makes the printed template complete; no call is made.
  const account = process.env.AWS_ACCOUNT_ID ?? '<account-id>';
  const roleArn = s.roleArn ?? `arn:aws:iam::${account}:role/${FIS_ROLE_NAME}`;
  const template = fisTemplate(fault, tag, durationMs, {
    region: s.region,
    roleArn,
    alarmArns: names.map((n) => `arn:aws:cloudwatch:${s.region}:${account}:alarm:${n}`),
  });
  const targets = Object.entries(template.targets ?? {}).map(
    ([key, t]) =>
      `  ${key}: ${t.resourceType} ${t.selectionMode}${
        t.resourceTags
          ? ` tagged ${Object.entries(t.resourceTags)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`
          : ''
      }${t.parameters ? ` ${JSON.stringify(t.parameters)}` : ''}`,
  );
  return [
    `DescribeAlarms ${JSON.stringify(names)}   (stop conditions; refused if any is missing)`,
    `CreateExperimentTemplate (or reuse the one tagged ${TEMPLATE_HASH_TAG}=${templateHash(template)}):`,
    ...JSON.stringify(template, null, 2).split('\n'),
    'targets it resolves (FIS selects them when the experiment starts):',
    ...targets,
    `StartExperiment, then GetExperiment polled into the journal; revert: StopExperiment`,
  ];
}

export function awsDriver(options: DriverOptions, tuning: AwsTuning = { pollMs: 5000 }): Driver {
  const s = settingsOf(options);
  let clients: { fis: FisClient; cloudwatch: CloudWatchClient } | undefined;
  // Credentials and endpoints (AWS_ENDPOINT_URL for the emulator) are read on first use.
  const aws = () => {
    clients ??= {
      fis: new FisClient({ region: s.region }),
      cloudwatch: new CloudWatchClient({ region: s.region }),
    };
    return clients;
  };
  return {
    platform: 'aws',
    unsupported: (fault) => unmapped(fault),
    plan: (fault, tag, durationMs) => plan(s, fault, tag, durationMs),
    snapshot: () => awsSnapshot(aws().fis, aws().cloudwatch),
    async inject(fault, tag, ctx) {
      const { fis, cloudwatch } = aws();
      return fisFault(fis, cloudwatch, s, tuning, fault, tag, ctx);
    },
    async undo(entry: JournalledFault): Promise<Effect> {
      const id = entry.revertInfo?.experimentId;
      if (typeof id !== 'string') return { verified: true, detail: 'no FIS experiment was started' };
      return stopExperiment(aws().fis, id);
    },
    sweep: (options) => sweep(aws().fis, options),
  };
}

/** Stops an experiment unless it has ended already, and says where it stands after. */
async function stopExperiment(fis: FisClient, id: string): Promise<Effect> {
  const now = (await fis.send(new GetExperimentCommand({ id }))).experiment;
  if (!TERMINAL.has(now?.state?.status ?? '')) await fis.send(new StopExperimentCommand({ id }));
  const after = (await fis.send(new GetExperimentCommand({ id }))).experiment;
  const status = after?.state?.status ?? '';
  return {
    verified: status === 'stopping' || TERMINAL.has(status),
    detail: `FIS experiment ${id}: ${describe(after)}`,
  };
}

/**
 * Every FIS experiment of this driver's templates (those carrying its content-hash tag) that
 * has not ended, stopped — found in the account itself, so `halt` reaches an experiment whose
 * journal is on another machine or lost. FIS ends each at its own duration, so none is ever
 * past its deadline: an `--expired` sweep owes nothing. Experiments of other templates are
 * never touched.
 */
async function sweep(
  fis: FisClient,
  options: { readonly expiredOnly: boolean; readonly dryRun?: boolean },
): Promise<SweptFault[]> {
  if (options.expiredOnly) return [];
  const ours = new Set<string>();
  let next: string | undefined;
  do {
    const page = await fis.send(new ListExperimentTemplatesCommand({ nextToken: next }));
    for (const t of page.experimentTemplates ?? []) if (t.id && t.tags?.[TEMPLATE_HASH_TAG]) ours.add(t.id);
    next = page.nextToken;
  } while (next);
  const swept: SweptFault[] = [];
  do {
    const page = await fis.send(new ListExperimentsCommand({ nextToken: next }));
    for (const e of page.experiments ?? []) {
      if (!e.id || !ours.has(e.experimentTemplateId ?? '') || TERMINAL.has(e.state?.status ?? '')) continue;
      swept.push({
        resource: `fis experiment ${e.id}`,
        tag: e.tags?.Name ?? '(untagged)',
        until: `its FIS duration from ${e.creationTime?.toISOString() ?? 'its start'}`,
        ...(options.dryRun ? {} : { effect: await stopExperiment(fis, e.id) }),
      });
    }
    next = page.nextToken;
  } while (next);
  return swept;
}
