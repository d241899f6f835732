import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { type FisClient, ListExperimentsCommand } from '@aws-sdk/client-fis';
import type { PlatformSnapshot } from '@cloudcafe/chaos-interface';
import { ALARM_NAMES } from '@cloudcafe/contracts';

/**
 * What the aws driver can change in the account and region, as the APIs have it now: every FIS
 * experiment not yet ended (a run that leaves one running has not handed the account back), and
 * the state of every CloudCafe alarm, with its actions (an alarm left in ALARM, or with its
 * actions disabled, is not the account as it was found).
 *
 * Known limit: what a FIS action did while it ran (tasks stopped, instances stopped) shows only
 * through the alarms here; ECS desired counts and instance states are not read yet.
 */

const ENDED = new Set(['completed', 'stopped', 'failed', 'cancelled']);
/** Every CloudCafe alarm's name starts with this (contracts' ALARM_NAMES and serviceErrorAlarm). */
const ALARM_PREFIX = ALARM_NAMES.checkoutErrors.slice(0, ALARM_NAMES.checkoutErrors.indexOf('-') + 1);

export async function awsSnapshot(fis: FisClient, cloudwatch: CloudWatchClient): Promise<PlatformSnapshot> {
  const out: Record<string, string> = {};
  let next: string | undefined;
  do {
    const page = await fis.send(new ListExperimentsCommand({ nextToken: next }));
    for (const e of page.experiments ?? []) {
      const status = e.state?.status ?? 'unknown';
      if (!ENDED.has(status))
        out[`fis experiment ${e.id}`] = `${status} (template ${e.experimentTemplateId})`;
    }
    next = page.nextToken;
  } while (next);
  let token: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNamePrefix: ALARM_PREFIX, NextToken: token }),
    );
    for (const a of page.MetricAlarms ?? [])
      out[`alarm ${a.AlarmName}`] =
        `${a.StateValue ?? 'unknown'}${a.ActionsEnabled === false ? ', actions disabled' : ''}`;
    token = page.NextToken;
  } while (token);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
