import { Command } from 'commander';
import { registerAuditCommand } from './commands/audit.js';
import { registerDashboardsCommand } from './commands/dashboards.js';
import { registerExperimentCommands } from './commands/experiment.js';
import { registerHaltCommand } from './commands/halt.js';
import { registerLabCommands } from './commands/lab.js';
import { registerLoadCommands } from './commands/load.js';
import { registerMetricsCommand } from './commands/metrics.js';
import { registerReportCommands } from './commands/report.js';
import { registerRevertCommand } from './commands/revert.js';
import { registerTargetCommand } from './commands/target.js';

/**
 * `cloudcafe`: the one command for the lab, load, stress, experiments, game days and reports.
 * Each group of subcommands lives in src/commands/.
 */
const program = new Command('cloudcafe')
  .description('CloudCafe chaos and stress lab')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerLabCommands(program);
registerExperimentCommands(program);
registerAuditCommand(program);
registerRevertCommand(program);
registerHaltCommand(program);
registerMetricsCommand(program);
registerDashboardsCommand(program);
registerLoadCommands(program);
registerTargetCommand(program);
registerReportCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`cloudcafe: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
