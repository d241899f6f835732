import type { Command } from 'commander';

/**
 * The CLI's command groups, each loaded only when a command line asks for it: a group's module
 * pulls in its own engines' clients and drivers, and `cloudcafe halt` during an incident must
 * not wait for the report renderer or the CloudWatch client to load. `--help`, `help` and an
 * unknown command load every group, so the help lists them all.
 */
type Register = (program: Command) => void;

export const GROUPS: readonly {
  readonly commands: readonly string[];
  readonly load: () => Promise<Register>;
}[] = [
  { commands: ['lab'], load: async () => (await import('./lab.js')).registerLabCommands },
  {
    // revert is a subcommand of experiment; gameday runs experiments
    commands: ['experiment', 'gameday'],
    load: async () => {
      const [{ registerExperimentCommands }, { registerRevertCommand }] = await Promise.all([
        import('./experiment.js'),
        import('./revert.js'),
      ]);
      return (program) => {
        registerExperimentCommands(program);
        registerRevertCommand(program);
      };
    },
  },
  { commands: ['audit'], load: async () => (await import('./audit.js')).registerAuditCommand },
  { commands: ['halt'], load: async () => (await import('./halt.js')).registerHaltCommand },
  { commands: ['metrics'], load: async () => (await import('./metrics.js')).registerMetricsCommand },
  {
    commands: ['dashboards'],
    load: async () => (await import('./dashboards.js')).registerDashboardsCommand,
  },
  { commands: ['load'], load: async () => (await import('./load.js')).registerLoadCommands },
  { commands: ['target'], load: async () => (await import('./target.js')).registerTargetCommand },
  { commands: ['report'], load: async () => (await import('./report.js')).registerReportCommands },
];

/**
 * The groups a command line needs: the one its first word names; none for `--version` alone;
 * all of them for help or a word no group has.
 */
export function groupsFor(argv: readonly string[]): typeof GROUPS {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return [];
  const first = argv.find((a) => !a.startsWith('-'));
  const named = GROUPS.filter((g) => first !== undefined && g.commands.includes(first));
  return named.length > 0 ? named : GROUPS;
}
