import type { Command } from 'commander';
import { driftOf, driftProgressLine, snapshotOf } from '../drift.js';
import { addDriverFlags, type DriverOptions, driverOptionsFrom } from '../drivers/index.js';
import {
  DocumentError,
  experimentFile,
  gameDayFile,
  listExperimentFiles,
  loadExperiment,
  loadGameDay,
} from '../experiment/load.js';
import { durationMs, type Experiment, PLATFORMS, type Platform } from '../experiment/schema.js';
import { Journal, type JournalEvent, newRunId } from '../journal.js';
import {
  findMargin,
  type MarginPlan,
  type MarginResult,
  marginPlanLine,
  marginProgressLine,
} from '../margin.js';
import { platformFor } from '../platform.js';
import { passed, type RunSummary, writeReports } from '../report.js';
import { routeSeries } from '../route-metrics.js';
import { type ExperimentResult, plan, runExperiment } from '../runner.js';
import { table } from '../table.js';
import { type Target, targetFromFile } from '../target.js';
import { runSeries, startSampler } from '../telemetry.js';
import { assertNotHalted, haltedSince } from './halt.js';
import { registerMarginCommand } from './margin.js';

/** One readable line per journal event: the live progress view of a run. */
function progressLine(event: JournalEvent): string | undefined {
  const time = event.at.slice(11, 19);
  const who = event.experiment ? `${event.experiment}: ` : '';
  const ok = (b: unknown) => (b ? '✓' : '✗');
  switch (event.type) {
    case 'gameday.started':
      return `${time} ▶ game day ${event.gameday} (${(event.experiments as string[]).length} experiments)`;
    case 'gameday.warmup':
      return `${time}   warming up for ${event.duration}`;
    case 'experiment.started':
      return `${time} ▶ ${who}${event.title}`;
    case 'hypothesis.before':
    case 'hypothesis.after': {
      const results = event.results as { name: string; ok: boolean; observed: string }[];
      const phase = event.type === 'hypothesis.before' ? 'steady state before' : 'steady state after';
      return `${time}   ${who}${phase}: ${results.map((r) => `${ok(r.ok)} ${r.name} (${r.observed})`).join(', ')}`;
    }
    case 'fault.injecting':
      return `${time}   ${who}injecting "${event.fault}" for ${event.duration}`;
    case 'fault.injected': {
      const effect = event.effect as { verified: boolean; detail: string };
      return `${time}   ${who}${ok(effect.verified)} effect of "${event.fault}": ${effect.detail}`;
    }
    case 'fault.reverted':
    case 'fault.revert-failed': {
      const effect = event.effect as { verified: boolean; detail: string };
      return `${time}   ${who}${ok(effect.verified)} reverted "${event.fault}": ${effect.detail}`;
    }
    case 'fault.inject-failed':
      return `${time}   ${who}✗ injecting "${event.fault}" failed: ${event.error}`;
    case 'probe': {
      const r = event.result as { name: string; ok: boolean; observed: string };
      return `${time}   ${who}${ok(r.ok)} probe ${r.name}: ${r.observed}`;
    }
    case 'load.started':
      return `${time}   ${who}background load: k6 ${event.scenario}${event.rate ? ` at ${event.rate}/s` : ''} (pid ${event.pid})`;
    case 'load.finished': {
      const failed = event.failedThresholds as string[];
      return `${time}   ${who}background load finished: ${event.acknowledged} orders acknowledged; k6 thresholds ${
        event.thresholdsFailed
          ? `breached (${failed.join(', ')}) — expected under a fault, reported not judged`
          : 'held'
      }`;
    }
    case 'audit': {
      const results = event.results as { invariant: string; ok: boolean; detail: string }[];
      return results
        .map((r) => `${time}   ${who}${ok(r.ok)} invariant ${r.invariant}: ${r.detail}`)
        .join('\n');
    }
    case 'abort':
      return `${time}   ${who}ABORT: ${event.condition} (rollback started ${event.reactionMs} ms after the breach was seen)`;
    case 'rollback.started':
      return `${time}   ${who}rolling back ${event.faults} fault(s)`;
    case 'experiment.finished':
      return `${time} ■ ${who}${String(event.verdict).toUpperCase()}${
        (event.reasons as string[]).length > 0 ? ` — ${(event.reasons as string[]).join('; ')}` : ''
      }`;
    default:
      return marginProgressLine(event) ?? driftProgressLine(event);
  }
}

/**
 * What Ctrl-C (or SIGTERM) does, by count: the first aborts the run, whose rollback then
 * reverts every fault before the process exits; the second only says that the rollback is
 * still running (an impatient second press must not leave faults in force); the third exits at
 * once and names the command that undoes what is left, from the journal.
 */
export function interruptHandler(
  controller: AbortController,
  runId: string,
  io: { write(line: string): void; exit(code: number): void },
): (sig: NodeJS.Signals) => void {
  let count = 0;
  return (sig) => {
    count++;
    if (count === 1) {
      io.write(`\n${sig}: stopping — rolling back every fault first\n`);
      controller.abort(sig);
    } else if (count === 2) {
      io.write(
        `\n${sig}: still rolling back; the run ends once every fault is reverted (again to exit now, leaving the rest to \`npx cloudcafe experiment revert ${runId}\`)\n`,
      );
    } else {
      io.write(
        `\n${sig}: exiting now; undo what is left with \`npx cloudcafe experiment revert ${runId}\`\n`,
      );
      io.exit(130);
    }
  };
}

function interruptible(runId: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = interruptHandler(controller, runId, {
    write: (line) => process.stderr.write(line),
    exit: (code) => process.exit(code),
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

const TARGET_HELP =
  "a JSON target file (gateway, adminTokenFile, ordersDatabase, aws, paymentGateway; docs/chaos.md): judge and audit that system instead of the local lab's state file";

function parsePlatform(value: string): Platform {
  if (!(PLATFORMS as readonly string[]).includes(value)) {
    throw new Error(`--platform must be one of ${PLATFORMS.join(', ')}`);
  }
  return value as Platform;
}

function checkPlatform(experiment: Experiment, platform: Platform): void {
  if (!experiment.platforms.includes(platform)) {
    throw new Error(
      `${experiment.id} does not run on ${platform} (it lists ${experiment.platforms.join(', ')})`,
    );
  }
}

/** The monitor watches what the experiment's hypothesis watches (its public GET probes). */
const monitored = (experiment: Experiment): string[] =>
  experiment.steadyState.probes.flatMap((p) =>
    p.type === 'http' && (p.method ?? 'GET') === 'GET' && !p.admin ? [p.path] : [],
  );

/** Runs experiments in order with a gap, writes the reports, prints the path and verdict. */
export async function runAndReport(options: {
  name: string;
  experiments: readonly Experiment[];
  platform: Platform;
  warmupMs?: number;
  gapMs?: number;
  gameday?: string;
  driverOptions?: DriverOptions;
  /** What judges and audits the run; the local lab's state file when absent. */
  target?: Target;
  /** Breaking points searched after the experiments (margin.ts); reported, not judged. */
  margins?: readonly MarginPlan[];
  /** Where the progress view goes; stdout when absent (stderr when stdout carries `--json`). */
  progress?: NodeJS.WritableStream;
}): Promise<{ dir: string; ok: boolean; summary: RunSummary }> {
  const progress = options.progress ?? process.stdout;
  assertNotHalted();
  const runId = newRunId(options.name);
  const journal = new Journal(runId, { name: options.name, platform: options.platform });
  journal.onEvent((event) => {
    const line = progressLine(event);
    if (line) progress.write(`${line}\n`);
  });
  const { signal, dispose } = interruptible(runId);
  const platform = platformFor(options.platform, options.driverOptions, options.target);
  const origin = Date.now();
  const startedAt = new Date(origin).toISOString();
  const results: ExperimentResult[] = [];
  const margins: MarginResult[] = [];
  // what chaos can change on the platform, before anything runs: the drift certificate's base
  const before = await snapshotOf(platform.driver);
  // the sampler rests its monitor while the journal says background load runs
  const sampler = startSampler(platform.target, journal, origin);
  try {
    if (options.gameday) {
      journal.record('gameday.started', {
        gameday: options.gameday,
        experiments: options.experiments.map((e) => e.id),
      });
    }
    if (options.warmupMs) {
      journal.record('gameday.warmup', { duration: `${options.warmupMs / 1000}s` });
      await new Promise((r) => setTimeout(r, options.warmupMs));
    }
    for (const [i, experiment] of options.experiments.entries()) {
      if (signal.aborted) break;
      if (i > 0 && options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      sampler.setTargets(monitored(experiment));
      results.push(await runExperiment(experiment, { platform, journal, signal }));
    }
    for (const margin of options.margins ?? []) {
      if (signal.aborted) break;
      sampler.setTargets(monitored(margin.experiment));
      margins.push(
        await findMargin(margin, {
          run: (experiment) => runExperiment(experiment, { platform, journal, signal }),
          signal,
          halted: () => haltedSince()?.since,
          gapMs: options.gapMs ?? 0,
          log: (type, detail) => journal.record(type, detail),
        }),
      );
    }
  } finally {
    dispose();
    await sampler.stop();
  }
  const drift = driftOf(before, await snapshotOf(platform.driver));
  journal.record('drift', { drift });
  const summary: RunSummary = {
    runId,
    name: options.name,
    platform: options.platform,
    startedAt,
    finishedAt: new Date().toISOString(),
    results,
    ...(margins.length > 0 ? { margins } : {}),
    drift,
  };
  const samples = await runSeries(sampler, journal.events, origin, Date.now());
  const dir = writeReports(journal, summary, samples, origin, routeSeries(sampler.routes));
  const ok =
    passed(summary) &&
    !signal.aborted &&
    results.length === options.experiments.length &&
    margins.every((m) => m.stopped === undefined);
  progress.write(
    `\nreport:  ${dir}/report.html\nsummary: ${dir}/summary.md\nverdict: ${ok ? 'PASSED' : 'FAILED'}\n`,
  );
  return { dir, ok, summary };
}

export function registerExperimentCommands(program: Command): void {
  const experiment = program
    .command('experiment')
    .description('chaos experiments: validate, list, run, margin');
  registerMarginCommand(experiment);

  experiment
    .command('validate')
    .description('check experiment files against the schema; every problem with its path and line')
    .argument('[files...]', 'experiment files (default: every file in chaos/experiments)')
    .option('--json', 'print one {file, id | problem} per file as JSON')
    .action((files: string[], opts: { json?: boolean }) => {
      const targets = files.length > 0 ? files : listExperimentFiles();
      const checked = targets.map((file) => {
        try {
          return { file, ok: true, id: loadExperiment(file).id };
        } catch (error) {
          const problem =
            error instanceof DocumentError ? error.message : `${file}: ${(error as Error).message}`;
          return { file, ok: false, problem };
        }
      });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(checked, null, 2)}\n`
          : checked.map((c) => (c.ok ? `✓ ${c.id} (${c.file})\n` : `✗ ${c.problem}\n`)).join(''),
      );
      if (checked.some((c) => !c.ok)) process.exitCode = 1;
    });

  experiment
    .command('list')
    .description('id, title, faults and platforms of every experiment')
    .option('--json', 'print the list as JSON')
    .action((opts: { json?: boolean }) => {
      const listed = listExperimentFiles().map((file) => {
        const e = loadExperiment(file);
        const faults = e.method.flatMap((s) => (s.type === 'fault' ? [s.fault.type] : []));
        return { id: e.id, title: e.title, faults: [...new Set(faults)], platforms: e.platforms, file };
      });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(listed, null, 2)}\n`
          : `${table(
              ['id', 'title', 'faults', 'platforms'],
              listed.map((e) => [e.id, e.title, e.faults.join(', '), e.platforms.join(', ')]),
            )}\n`,
      );
    });

  addDriverFlags(
    experiment
      .command('run')
      .description('run one experiment against the lab and write reports/<run-id>/')
      .argument('<file>', 'an experiment file or id')
      .option('--platform <platform>', 'local | kubernetes | aws', 'local')
      .option('--target <file>', TARGET_HELP)
      .option('--dry-run', 'print the plan; touch nothing'),
  ).action(
    async (
      file: string,
      opts: { platform: string; dryRun?: boolean; yes?: boolean; target?: string } & Parameters<
        typeof driverOptionsFrom
      >[0],
    ) => {
      const platform = parsePlatform(opts.platform);
      const e = loadExperiment(experimentFile(file));
      checkPlatform(e, platform);
      const driverOptions = driverOptionsFrom(opts);
      if (opts.dryRun || (platform !== 'local' && !opts.yes)) {
        process.stdout.write(`${plan(e, platform, driverOptions).join('\n')}\n`);
        if (!opts.dryRun) process.stdout.write(`(dry run: pass --yes to inject on ${platform})\n`);
        return;
      }
      const { ok } = await runAndReport({
        name: e.id,
        experiments: [e],
        platform,
        driverOptions,
        ...(opts.target ? { target: targetFromFile(opts.target) } : {}),
      });
      if (!ok) process.exitCode = 1;
    },
  );

  addDriverFlags(
    program
      .command('gameday')
      .description('run a game day: an ordered list of experiments with warm-up and gaps')
      .argument('[name]', 'a game day in chaos/gamedays (or a file)', 'default')
      .option('--platform <platform>', 'local | kubernetes | aws', 'local')
      .option('--target <file>', TARGET_HELP)
      .option('--dry-run', 'print the plan; touch nothing'),
  ).action(
    async (
      name: string,
      opts: { platform: string; dryRun?: boolean; yes?: boolean; target?: string } & Parameters<
        typeof driverOptionsFrom
      >[0],
    ) => {
      const platform = parsePlatform(opts.platform);
      const { gameday, experiments, margins } = loadGameDay(gameDayFile(name));
      for (const e of experiments) checkPlatform(e, platform);
      const driverOptions = driverOptionsFrom(opts);
      if (opts.dryRun || (platform !== 'local' && !opts.yes)) {
        process.stdout.write(
          `${gameday.title}: warm-up ${gameday.warmup}, ${gameday.gap} between experiments\n${experiments
            .map((e) => plan(e, platform, driverOptions).join('\n'))
            .join('\n')}\n${margins.map((m) => `${marginPlanLine(m)}\n`).join('')}`,
        );
        return;
      }
      const { ok } = await runAndReport({
        name: `gameday-${gameday.id}`,
        gameday: gameday.id,
        experiments,
        platform,
        warmupMs: durationMs(gameday.warmup),
        gapMs: durationMs(gameday.gap),
        margins,
        driverOptions,
        ...(opts.target ? { target: targetFromFile(opts.target) } : {}),
      });
      if (!ok) process.exitCode = 1;
    },
  );
}
