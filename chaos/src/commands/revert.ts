import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DriverOptions, Effect, JournalledFault } from '@cloudcafe/chaos-interface';
import {
  labPaths,
  readLabState,
  signalProcess,
  ToxiproxyClient,
  undoServiceFault,
} from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { addDriverFlags, driverFor, driverOptionsFrom } from '../drivers/index.js';
import { PLATFORMS, type Platform } from '../experiment/schema.js';
import { FaultKeys, type JournalEvent, REPORTS_DIR } from '../journal.js';

/**
 * `cloudcafe experiment revert <run-id>`: undoes what a crashed or killed run left in force,
 * from its journal alone. A fault is journalled before it acts, and the kubernetes and aws
 * drivers journal their revert information (previous replicas, policies, FIS experiment id)
 * before they change anything, so the journal always knows more than the damage.
 */

interface JournalFile {
  readonly runId: string;
  readonly platform?: string;
  readonly events: JournalEvent[];
}

export function journalPath(runIdOrPath: string): string {
  if (runIdOrPath.endsWith('.json')) return runIdOrPath;
  return join(REPORTS_DIR, runIdOrPath, 'journal.json');
}

/** Faults that were injected (or were being injected) and never reverted, oldest first. */
export function unreverted(journal: JournalFile): JournalledFault[] {
  const keys = new FaultKeys();
  const open = new Map<
    string,
    { name: string; spec: JournalledFault['spec']; tag: string; revertInfo?: Record<string, unknown> }
  >();
  for (const e of journal.events) {
    const key = keys.keyOf(e);
    if (e.type === 'fault.injecting')
      open.set(key, {
        name: String(e.fault),
        spec: e.spec as JournalledFault['spec'],
        tag: String(e.tag),
      });
    const entry = open.get(key);
    if (e.type === 'fault.revert-info' && entry) entry.revertInfo = e.revert as Record<string, unknown>;
    // a `fault.revert-failed` leaves the fault open: it is still owed
    if (e.type === 'fault.reverted') open.delete(key);
  }
  return [...open.values()].map((f) => ({ ...f, revertInfo: f.revertInfo }));
}

/** The local platform's undo: every local fault is named by its link or process and its tag. */
async function undoLocal(fault: JournalledFault): Promise<Effect> {
  const toxiproxy = new ToxiproxyClient();
  switch (fault.spec.type) {
    case 'latency':
      await toxiproxy.removeToxic(fault.spec.link, fault.tag).catch(() => {});
      return { verified: true, detail: `toxic ${fault.tag} removed from ${fault.spec.link}` };
    case 'partition':
      await toxiproxy.setEnabled(fault.spec.link, true);
      return { verified: true, detail: `link ${fault.spec.link} enabled` };
    case 'pause':
      await signalProcess(fault.spec.process, 'SIGCONT');
      return { verified: true, detail: `SIGCONT sent to ${fault.spec.process}` };
    case 'kill':
      return { verified: true, detail: 'nothing to undo: the supervisor restarts a killed process' };
    case 'cache-outage': {
      const links = cacheLinks(fault);
      for (const link of links) await toxiproxy.setEnabled(link, true);
      return { verified: true, detail: `links ${links.join(', ')} enabled` };
    }
    default:
      // a fault flag off, a stress run cancelled, through the lab's gateway
      return (
        (await undoServiceFault(fault.spec)) ?? {
          verified: false,
          detail: `${(fault.spec as { type: string }).type}: not undone here; \`npx cloudcafe lab up\` heals links and processes`,
        }
      );
  }
}

/** The links a cache outage cut: journalled before it acted, or every link to Redis of the lab. */
function cacheLinks(fault: JournalledFault): string[] {
  const journalled = fault.revertInfo?.links;
  if (Array.isArray(journalled) && journalled.every((l) => typeof l === 'string')) return journalled;
  const service = (fault.spec as { service?: string }).service;
  return (readLabState(labPaths())?.links ?? [])
    .filter((l) => l.to === 'redis' && (!service || l.from === service))
    .map((l) => l.name);
}

/**
 * Undoes every fault one journal holds as still in force, and journals each undo in that same
 * file (so a second pass does not undo twice, and a failed undo is tried again). Shared by
 * `experiment revert` and `halt`.
 */
export async function undoJournal(
  file: string,
  options: { driverOptions: DriverOptions; dryRun: boolean; by: string; write: (line: string) => void },
): Promise<{ undone: number; failed: number }> {
  if (!existsSync(file)) throw new Error(`no journal at ${file}`);
  const journal = JSON.parse(readFileSync(file, 'utf8')) as JournalFile;
  const platform = (journal.platform ?? 'local') as Platform;
  if (!PLATFORMS.includes(platform)) throw new Error(`the journal names an unknown platform: ${platform}`);
  const faults = unreverted(journal);
  if (faults.length === 0) {
    options.write(`${journal.runId}: every fault was reverted; nothing to do`);
    return { undone: 0, failed: 0 };
  }
  const driver = driverFor(platform, options.driverOptions);
  let failed = 0;
  for (const fault of faults) {
    const what = `${fault.spec.type} "${fault.name}" (${fault.tag}) on ${platform}`;
    if (options.dryRun) {
      options.write(`would undo ${what}${fault.revertInfo ? `: ${JSON.stringify(fault.revertInfo)}` : ''}`);
      continue;
    }
    const effect = await (platform === 'local'
      ? undoLocal(fault)
      : (driver.undo?.(fault) ?? undoLocal(fault))
    ).catch((e: Error) => ({ verified: false, detail: `undo failed: ${e.message}` }));
    if (!effect.verified) failed++;
    options.write(`${effect.verified ? '✓' : '✗'} ${what}: ${effect.detail}`);
    const experimentId = journal.events.find(
      (e) => e.type === 'fault.injecting' && e.tag === fault.tag,
    )?.experiment;
    journal.events.push({
      at: new Date().toISOString(),
      type: effect.verified ? 'fault.reverted' : 'fault.revert-failed',
      fault: fault.name,
      tag: fault.tag,
      ...(experimentId ? { experiment: experimentId } : {}),
      effect,
      by: options.by,
    });
    writeFileSync(file, `${JSON.stringify(journal, null, 2)}\n`);
  }
  return { undone: options.dryRun ? 0 : faults.length - failed, failed };
}

/**
 * Undoes the faults the platform itself records in force (driver.sweep): all of them, or those
 * past their deadline. A platform that holds its deadlines by itself has nothing to sweep.
 */
export async function sweepPlatform(
  platform: Platform,
  options: {
    driverOptions: DriverOptions;
    expiredOnly: boolean;
    dryRun: boolean;
    write: (line: string) => void;
  },
): Promise<{ undone: number; failed: number }> {
  const driver = driverFor(platform, options.driverOptions);
  if (!driver.sweep) {
    options.write(
      platform === 'local'
        ? 'local: the lab daemon reverts each held fault at its deadline by itself (`npx cloudcafe lab status` lists them)'
        : `${platform}: the platform bounds each fault by itself; nothing to sweep`,
    );
    return { undone: 0, failed: 0 };
  }
  const swept = await driver.sweep({ expiredOnly: options.expiredOnly, dryRun: options.dryRun });
  if (swept.length === 0)
    options.write(`${platform}: no fault in force${options.expiredOnly ? ' past its deadline' : ''}`);
  let failed = 0;
  for (const f of swept) {
    if (!f.effect) {
      options.write(`would undo ${f.tag} on ${f.resource} (until ${f.until})`);
      continue;
    }
    if (!f.effect.verified) failed++;
    options.write(
      `${f.effect.verified ? '✓' : '✗'} ${f.tag} on ${f.resource} (until ${f.until}): ${f.effect.detail}`,
    );
  }
  return { undone: options.dryRun ? 0 : swept.length - failed, failed };
}

export function registerRevertCommand(program: Command): void {
  const experiment = program.commands.find((c) => c.name() === 'experiment');
  if (!experiment) throw new Error('the experiment command must be registered before revert');
  addDriverFlags(
    experiment
      .command('revert')
      .description(
        'undo every fault a crashed run left in force, from reports/<run-id>/journal.json; or, with --expired, every fault the platform records past its deadline',
      )
      .argument('[run-id]', 'a run id (reports/<run-id>) or a journal.json path')
      .option('--expired', 'no journal: find the faults on the platform itself (kubernetes: their marks)')
      .option('--platform <platform>', 'with --expired: local | kubernetes | aws', 'local')
      .option('--dry-run', 'list what would be undone; touch nothing'),
  ).action(
    async (
      runId: string | undefined,
      opts: { dryRun?: boolean; expired?: boolean; platform: string } & Parameters<
        typeof driverOptionsFrom
      >[0],
    ) => {
      if (Boolean(runId) === Boolean(opts.expired))
        throw new Error('name a run id, or pass --expired (with --platform) to sweep the platform itself');
      const write = (line: string) => process.stdout.write(`${line}\n`);
      const driverOptions = driverOptionsFrom(opts);
      const dryRun = opts.dryRun === true;
      if (opts.expired && !(PLATFORMS as readonly string[]).includes(opts.platform))
        throw new Error(`--platform must be one of ${PLATFORMS.join(', ')}`);
      const { failed } = opts.expired
        ? await sweepPlatform(opts.platform as Platform, { driverOptions, expiredOnly: true, dryRun, write })
        : await undoJournal(journalPath(runId as string), {
            driverOptions,
            dryRun,
            by: 'experiment revert',
            write,
          });
      if (failed > 0) process.exitCode = 1;
    },
  );
}
