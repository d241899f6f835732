import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import { Command } from 'commander';
import t from 'tap';
import { GROUPS, groupsFor } from '../src/commands/index.js';

// The CLI loads only the command group a command line names (commands/index.ts). These check
// that the table is true to what each module registers, so no command goes missing from the
// line that asks for it, and that help still lists every command.

const cli = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['chaos/bin/cloudcafe.js', ...args],
      { cwd: REPO_ROOT },
      (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

t.test('each group registers exactly the top-level commands it is listed under', async (t) => {
  for (const group of GROUPS) {
    // Prepare
    const program = new Command('cloudcafe');

    // Act
    (await group.load())(program);

    // Assess
    t.same(
      program.commands.map((c) => c.name()).sort(),
      [...group.commands].sort(),
      `${group.commands.join(', ')}`,
    );
  }
});

t.test('a command line loads the group its first word names, and help loads all', async (t) => {
  const names = (argv: string[]) => groupsFor(argv).flatMap((g) => g.commands);
  t.same(names(['halt', '--platform', 'kubernetes']), ['halt']);
  t.same(names(['experiment', 'revert', '--expired']), ['experiment', 'gameday']);
  t.same(names(['gameday', 'full']), ['experiment', 'gameday']);
  t.equal(names(['--help']).length, GROUPS.flatMap((g) => g.commands).length);
  t.equal(names(['help', 'halt']).length, GROUPS.flatMap((g) => g.commands).length);
  t.equal(names(['no-such-command']).length, GROUPS.flatMap((g) => g.commands).length);
  t.same(names(['--version']), []);
  const all = GROUPS.flatMap((g) => g.commands);
  t.equal(new Set(all).size, all.length, 'no command is in two groups');
});

t.test('--version prints the CLI version; help lists every command', async (t) => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'chaos/package.json'), 'utf8')) as {
    version: string;
  };

  const printed = await cli('--version');
  const help = await cli('--help');

  t.equal(printed.status, 0, printed.stderr);
  t.equal(printed.stdout.trim(), version);
  t.equal(help.status, 0, help.stderr);
  for (const command of GROUPS.flatMap((g) => g.commands))
    t.match(help.stdout, new RegExp(`\\n  ${command}\\b`));
});

t.test('every command that prints data has --json', async (t) => {
  // Prepare: every group registered, as for help
  const program = new Command('cloudcafe');
  for (const group of GROUPS) (await group.load())(program);
  const find = (path: string) =>
    path
      .split(' ')
      .reduce<Command | undefined>((c, name) => c?.commands.find((s) => s.name() === name), program);

  // Act
  const listed = await cli('experiment', 'list', '--json');

  // Assess
  for (const path of [
    'lab status',
    'audit',
    'metrics',
    'experiment list',
    'experiment validate',
    'experiment margin',
    'report diff',
    'report trend',
  ]) {
    t.ok(
      find(path)?.options.some((o) => o.long === '--json'),
      `cloudcafe ${path} --json`,
    );
  }
  t.equal(listed.status, 0, listed.stderr);
  const experiments = JSON.parse(listed.stdout) as { id: string; faults: string[]; platforms: string[] }[];
  t.match(
    experiments.find((e) => e.id === 'network-latency'),
    { faults: ['latency'], platforms: Array },
    'the list as data',
  );
});
