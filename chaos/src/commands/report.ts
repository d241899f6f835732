import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { diffRows, listRuns, readRun, runDir, trendHtml } from '../history.js';
import { REPORTS_DIR } from '../journal.js';
import { table } from '../table.js';

/**
 * `cloudcafe report diff <run-a> <run-b>` and `cloudcafe report trend`: run history read from
 * the run folders in reports/ (history.ts), so a team can show that a fix removed a failure.
 */
export function registerReportCommands(program: Command): void {
  const report = program
    .command('report')
    .description('run history: compare two runs, or the trend over all');

  report
    .command('diff')
    .description(
      'verdicts, recovery, p99 under each fault, margins, invariants, aborts: two runs side by side',
    )
    .argument('<run-a>', 'a run id (a folder in reports/) or a run folder')
    .argument('<run-b>', 'a run id (a folder in reports/) or a run folder')
    .option('--reports <dir>', 'where the run folders are', REPORTS_DIR)
    .option('--json', 'print the rows as JSON')
    .action((first: string, second: string, opts: { reports: string; json?: boolean }) => {
      const a = readRun(runDir(first, opts.reports));
      const b = readRun(runDir(second, opts.reports));
      const rows = diffRows(a, b);
      if (opts.json) {
        const keys = ['experiment', 'figure', 'a', 'b', 'change'] as const;
        const body = {
          a: a.runId,
          b: b.runId,
          rows: rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, r[i]]))),
        };
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      process.stdout.write(`a: ${a.runId} (${a.startedAt})\nb: ${b.runId} (${b.startedAt})\n\n`);
      process.stdout.write(`${table(['experiment', 'figure', 'a', 'b', 'change'], rows)}\n`);
    });

  report
    .command('trend')
    .description('write an HTML trend page over every run in reports/')
    .option('--reports <dir>', 'where the run folders are', REPORTS_DIR)
    .option('--out <file>', 'where to write the page (default: <reports>/trend.html)')
    .option('--json', 'print the runs’ figures as JSON instead')
    .action((opts: { reports: string; out?: string; json?: boolean }) => {
      const runs = listRuns(opts.reports);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        return;
      }
      const out = resolve(opts.out ?? join(opts.reports, 'trend.html'));
      writeFileSync(out, trendHtml(runs));
      process.stdout.write(`trend over ${runs.length} runs: ${out}\n`);
    });
}
