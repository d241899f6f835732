import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { groupsFor } from './commands/index.js';

/**
 * `cloudcafe`: the one command for the lab, load, stress, experiments, game days and reports.
 * Each group of subcommands lives in src/commands/; only the group a command line asks for is
 * loaded (commands/index.ts).
 */
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('cloudcafe')
  .description('CloudCafe chaos and stress lab')
  .version(version, '-V, --version', 'print the CLI version')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

try {
  const args = process.argv.slice(2);
  for (const register of await Promise.all(groupsFor(args).map((g) => g.load()))) register(program);
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`cloudcafe: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
