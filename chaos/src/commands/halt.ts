import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { admin, healLab, labPaths, labStatus, readLabState } from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { addDriverFlags, driverOptionsFrom } from '../drivers/index.js';
import { PLATFORMS, type Platform } from '../experiment/schema.js';
import { REPORTS_DIR } from '../journal.js';
import { sweepPlatform, undoJournal } from './revert.js';

/**
 * `cloudcafe halt`: the global stop. It blocks new runs first, then reverts every fault in
 * force on the platform — found in every run's journal (each undone through the same path as
 * `experiment revert`, whatever became of the orchestrator that injected it) and, on the local
 * platform, in the lab itself (toxics, cut links, paused processes, fault flags, stress runs) —
 * and keeps runs blocked until `cloudcafe halt --release`.
 *
 * On kubernetes and aws the platform is searched too (driver.sweep), whichever machine's
 * journal knows of a fault: on kubernetes every fault the driver marked on a Deployment or a
 * NetworkPolicy is undone; on aws every running FIS experiment of the driver's own templates is
 * stopped.
 */

interface HaltRecord {
  readonly since: string;
  readonly platform: Platform;
}

export const haltFile = (): string => join(labPaths().stateDir, 'halt.json');

export function haltedSince(): HaltRecord | undefined {
  const file = haltFile();
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HaltRecord) : undefined;
}

/** Throws while a halt is in force: nothing is injected until someone releases it. */
export function assertNotHalted(): void {
  const halt = haltedSince();
  if (halt) {
    throw new Error(
      `chaos is halted (since ${halt.since}, ${halt.platform}): no run starts until \`npx cloudcafe halt --release\``,
    );
  }
}

function journals(): string[] {
  if (!existsSync(REPORTS_DIR)) return [];
  return readdirSync(REPORTS_DIR)
    .map((run) => join(REPORTS_DIR, run, 'journal.json'))
    .filter((file) => existsSync(file));
}

const platformOf = (file: string): Platform => {
  const named = (JSON.parse(readFileSync(file, 'utf8')) as { platform?: string }).platform ?? 'local';
  return (PLATFORMS as readonly string[]).includes(named) ? (named as Platform) : 'local';
};

/** Service admin calls through the lab's gateway: every fault flag off, every stress run cancelled. */
async function quietServices(write: (line: string) => void): Promise<number> {
  const state = readLabState(labPaths());
  if (!state) return 0;
  let failed = 0;
  const done = (status: number) => status >= 200 && status < 300;
  for (const service of state.services) {
    const api = service.health.replace(/\/health$/, '');
    try {
      const { flags } = (await admin('GET', `${api}/admin/flags`)).json as {
        flags: { name: string; active: string }[];
      };
      for (const flag of flags.filter((f) => f.active !== 'off')) {
        const { status } = await admin('DELETE', `${api}/admin/flags/${flag.name}`);
        write(`${done(status) ? '✓' : '✗'} ${service.name}: fault flag ${flag.name} (${flag.active}) off`);
        if (!done(status)) failed++;
      }
      const stress = (await admin('GET', `${api}/stress`)).json as {
        active?: { runId: string; scenario: string; state: string };
      };
      if (stress.active?.state === 'running') {
        const { scenario, runId } = stress.active;
        const { status } = await admin('POST', `${api}/stress/${scenario}/runs/${runId}/cancel`);
        write(`${done(status) ? '✓' : '✗'} ${service.name}: stress run ${scenario} ${runId} cancelled`);
        if (!done(status)) failed++;
      }
    } catch (error) {
      failed++;
      write(`✗ ${service.name}: ${(error as Error).message}`);
    }
  }
  return failed;
}

async function halt(
  platform: Platform,
  opts: Parameters<typeof driverOptionsFrom>[0] & { dryRun?: boolean },
) {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  if (!opts.dryRun) {
    mkdirSync(dirname(haltFile()), { recursive: true });
    writeFileSync(haltFile(), `${JSON.stringify({ since: new Date().toISOString(), platform })}\n`);
    write(`halted: no run starts until \`npx cloudcafe halt --release\``);
  }
  let failed = 0;
  for (const file of journals().filter((f) => platformOf(f) === platform)) {
    const result = await undoJournal(file, {
      driverOptions: driverOptionsFrom(opts),
      dryRun: opts.dryRun === true,
      by: 'halt',
      write: () => {},
    }).catch((error: Error) => ({ undone: 0, failed: 1, error }));
    if (result.undone || result.failed) write(`${file}: ${result.undone} undone, ${result.failed} failed`);
    failed += result.failed;
  }
  if (platform !== 'local') {
    const swept = await sweepPlatform(platform, {
      driverOptions: driverOptionsFrom(opts),
      expiredOnly: false,
      dryRun: opts.dryRun === true,
      write,
    }).catch((error: Error) => {
      write(`✗ ${platform}: could not search the platform: ${error.message}`);
      return { undone: 0, failed: 1 };
    });
    failed += swept.failed;
  }
  if (platform === 'local' && !opts.dryRun && (await labStatus())?.ready) {
    const { healed } = await healLab();
    for (const what of healed) write(`✓ healed ${what}`);
    failed += await quietServices(write);
  }
  if (failed > 0) process.exitCode = 1;
  write(failed > 0 ? `${failed} could not be undone: see above` : 'every fault found is undone');
}

export function registerHaltCommand(program: Command): void {
  addDriverFlags(
    program
      .command('halt')
      .description('stop all chaos: revert every fault in force and block new runs until --release')
      .option('--platform <platform>', 'local | kubernetes | aws', 'local')
      .option('--release', 'lift the halt: runs may start again')
      .option('--dry-run', 'list what would be undone; touch nothing'),
  ).action(
    async (
      opts: { platform: string; release?: boolean; dryRun?: boolean } & Parameters<
        typeof driverOptionsFrom
      >[0],
    ) => {
      if (!(PLATFORMS as readonly string[]).includes(opts.platform))
        throw new Error(`--platform must be one of ${PLATFORMS.join(', ')}`);
      if (opts.release) {
        rmSync(haltFile(), { force: true });
        process.stdout.write('released: runs may start again\n');
        return;
      }
      await halt(opts.platform as Platform, opts);
    },
  );
}
