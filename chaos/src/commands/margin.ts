import type { Command } from 'commander';
import { experimentFile, loadExperiment } from '../experiment/load.js';
import { DEFAULT_STEPS, marginPlanLine, parseVary, planMargin } from '../margin.js';
import { runAndReport } from './experiment.js';

/**
 * `cloudcafe experiment margin <id> --vary latencyMs=50..1000 [--steps N]`: the breaking point
 * of one experiment on the local lab (margin.ts). The request is checked whole — the field,
 * its type, the range against the schema's bounds — before anything is injected; then each
 * dose is an ordinary run in one report folder, whose report shows the margin.
 */
export function registerMarginCommand(experiment: Command): void {
  experiment
    .command('margin')
    .description('raise one fault field step by step until the hypothesis fails; report the margin')
    .argument('<file>', 'an experiment file or id')
    .requiredOption('--vary <field=from..to>', 'the fault field and its range, e.g. latencyMs=50..1000')
    .option('--steps <n>', `doses from the first to the last, both included (default ${DEFAULT_STEPS})`)
    .option('--fault <name>', 'the fault step to vary, when several carry the field')
    .option('--gap <seconds>', 'pause between doses', '5')
    .option('--dry-run', 'print the doses; touch nothing')
    .option('--json', 'print the margin as JSON on stdout (the progress view goes to stderr)')
    .action(
      async (
        file: string,
        opts: { vary: string; steps?: string; fault?: string; gap: string; dryRun?: boolean; json?: boolean },
      ) => {
        const steps = opts.steps === undefined ? DEFAULT_STEPS : Number(opts.steps);
        const gapSeconds = Number(opts.gap);
        if (!Number.isFinite(gapSeconds) || gapSeconds < 0 || gapSeconds > 600)
          throw new Error(`--gap must be a number of seconds from 0 to 600 (got ${opts.gap})`);
        const e = loadExperiment(experimentFile(file));
        if (!e.platforms.includes('local')) throw new Error(`${e.id} does not run on the local lab`);
        const plan = planMargin(e, parseVary(opts.vary), steps, opts.fault);
        if (opts.dryRun) {
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ experiment: e.id, fault: plan.stepName, field: plan.field, doses: plan.doses })}\n`
              : `${marginPlanLine(plan)}\n`,
          );
          return;
        }
        const { ok, dir, summary } = await runAndReport({
          name: `margin-${e.id}`,
          experiments: [],
          margins: [plan],
          platform: 'local',
          gapMs: gapSeconds * 1000,
          ...(opts.json ? { progress: process.stderr } : {}),
        });
        if (opts.json)
          process.stdout.write(`${JSON.stringify({ report: dir, margin: summary.margins?.[0] }, null, 2)}\n`);
        if (!ok) process.exitCode = 1;
      },
    );
}
