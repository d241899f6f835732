import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type CloudWatchClient, PutDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { QUEUES, STREAMS, TABLES } from '@cloudcafe/contracts';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { ANNOTATIONS_FILE, type Annotation, withFaultBands } from '../annotations.js';
import { REPORTS_DIR } from '../journal.js';
import { cloudWatchFor } from './metrics.js';

/**
 * `cloudcafe dashboards push`: puts `dashboards/*.json` with PutDashboard, named
 * `cloudcafe-<file>` as the CDK observability stack names them. The bodies carry the same
 * `${…}` placeholders CDK fills with Fn::Sub; here they are filled from the shared resource
 * names, the chosen platform and the region. With `--run <run-id>` every time-series graph
 * also carries that run's fault windows as shaded bands (from its annotations.json).
 */

export const DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards');

export function dashboardValues(platform: string, region: string, account: string): Record<string, string> {
  return {
    Platform: platform,
    'AWS::Region': region,
    'AWS::AccountId': account,
    PaymentFunction: 'cloudcafe-payment',
    PaymentQueue: QUEUES.paymentRequests,
    PaymentDlq: QUEUES.paymentRequestsDlq,
    ResultsQueue: QUEUES.paymentResults,
    OrderEventsStream: STREAMS.orderEvents,
    InventoryTable: TABLES.inventory,
    ReservationsTable: TABLES.reservations,
    PaymentsTable: TABLES.payments,
  };
}

/** Fills every `${Name}`; one the table does not know is an error, not a silent blank. */
export function fillPlaceholders(
  body: string,
  values: Readonly<Record<string, string>>,
  file: string,
): string {
  return body.replace(/\$\{([A-Za-z:]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: unknown placeholder \${${name}}`);
    return value;
  });
}

/** A run's fault windows from `reports/<run-id>/annotations.json`; a message naming the file when absent. */
export function runAnnotations(runId: string, reportsDir: string = REPORTS_DIR): Annotation[] {
  const file = join(reportsDir, runId, ANNOTATIONS_FILE);
  if (!existsSync(file))
    throw new Error(`no ${ANNOTATIONS_FILE} at ${file}: is ${runId} a run in ${reportsDir}?`);
  return JSON.parse(readFileSync(file, 'utf8')) as Annotation[];
}

export async function pushDashboards(
  client: CloudWatchClient,
  options: {
    platform: string;
    region: string;
    account: string;
    dir?: string;
    /** Fault windows to draw as bands on every time-series graph. */
    annotations?: readonly Annotation[];
  },
): Promise<{ name: string; widgets: number; bands: number }[]> {
  const dir = options.dir ?? DASHBOARDS_DIR;
  const values = dashboardValues(options.platform, options.region, options.account);
  const pushed: { name: string; widgets: number; bands: number }[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const body = withFaultBands(
      fillPlaceholders(readFileSync(join(dir, file), 'utf8'), values, file),
      options.annotations ?? [],
    );
    const widgets = (JSON.parse(body) as { widgets?: unknown[] }).widgets?.length ?? 0;
    const name = `cloudcafe-${basename(file, '.json')}`;
    const out = await client.send(new PutDashboardCommand({ DashboardName: name, DashboardBody: body }));
    const problems = out.DashboardValidationMessages ?? [];
    if (problems.length > 0)
      throw new Error(`${file}: ${problems.map((p) => `${p.DataPath ?? ''} ${p.Message ?? ''}`).join('; ')}`);
    pushed.push({ name, widgets, bands: options.annotations?.length ?? 0 });
  }
  return pushed;
}

export function registerDashboardsCommand(program: Command): void {
  program
    .command('dashboards')
    .description('CloudWatch dashboards from dashboards/*.json')
    .command('push')
    .description('put every dashboards/*.json with PutDashboard (the lab emulator with --platform local)')
    .option('--platform <platform>', 'the Platform the dashboards show: local | kubernetes | aws', 'local')
    .option(
      '--account <id>',
      'account id the overview dashboard links to (the emulator uses 123456789012)',
      '123456789012',
    )
    .option(
      '--run <run-id>',
      "draw that run's fault windows (reports/<run-id>/annotations.json) on every graph",
    )
    .action(async (opts: { platform: string; account: string; run?: string }) => {
      // read first: a wrong run id fails before anything is put
      const annotations = opts.run ? runAnnotations(opts.run) : undefined;
      const client = cloudWatchFor(opts.platform);
      const region = await client.config.region();
      const pushed = await pushDashboards(client, {
        platform: opts.platform,
        region,
        account: opts.account,
        ...(annotations ? { annotations } : {}),
      });
      for (const p of pushed)
        process.stdout.write(
          `✓ ${p.name} (${p.widgets} widgets${annotations ? `, ${p.bands} fault window${p.bands === 1 ? '' : 's'}` : ''})\n`,
        );
    });
}
