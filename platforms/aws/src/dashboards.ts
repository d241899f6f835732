import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { REPO_ROOT } from './kustomize.js';

/** Where the dashboard bodies live; the CLI reads the same files for the local platform. */
export const DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards');

/**
 * The `${…}` placeholders a dashboard body may use. `AWS::Region` is the CloudFormation pseudo
 * parameter (the CLI substitutes the lab's region); the rest are filled per deployment.
 */
export const DASHBOARD_VARIABLES = [
  'AWS::Region',
  'AWS::AccountId',
  'Platform',
  'PaymentFunction',
  'PaymentQueue',
  'PaymentDlq',
  'ResultsQueue',
  'OrderEventsStream',
  'InventoryTable',
  'ReservationsTable',
  'PaymentsTable',
] as const;
export type DashboardVariable = (typeof DASHBOARD_VARIABLES)[number];

export interface DashboardFile {
  /** File name without `.json`: `overview` or a service name. */
  readonly name: string;
  /** The body as written, placeholders included. */
  readonly body: string;
}

/** Every `dashboards/*.json`, sorted by name. */
export function readDashboards(dir: string = DASHBOARDS_DIR): DashboardFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: basename(f, '.json'), body: readFileSync(join(dir, f), 'utf8') }));
}

/** The placeholders a body uses, e.g. `['AWS::Region', 'Platform']`. */
export function placeholdersOf(body: string): string[] {
  return [...new Set([...body.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] as string))];
}
