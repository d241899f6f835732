import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import t from 'tap';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, ['chaos/bin/cloudcafe.js', ...args], { cwd: REPO_ROOT, timeout: 60_000 });

// Runs against the shared lab that tap's before-hook brought up.

t.test('lab status shows the gateway, every process and every link', async (t) => {
  const { stdout } = await cli('lab', 'status');
  t.match(stdout, /CloudCafe lab is up/);
  t.match(stdout, /gateway\s+http:\/\/127\.0\.0\.1:\d+/);
  t.match(stdout, /\S+\s+service\s+running/);
  t.match(stdout, /[a-z]+-to-(redis|postgres|mongo)\s+\d+/);
});

t.test('lab status --json is machine-readable', async (t) => {
  const { stdout } = await cli('lab', 'status', '--json');
  const status = JSON.parse(stdout) as { ready: boolean; processes: { name: string }[] };
  t.equal(status.ready, true);
  t.ok(status.processes.some((p) => p.name === 'postgres'));
});

t.test('lab logs prints the tail of a process log', async (t) => {
  const { stdout } = await cli('lab', 'logs', 'daemon', '-n', '5');
  t.match(stdout, /"msg":/);
});

t.test('lab logs of an unknown process fails with a clear message', async (t) => {
  const error = (await cli('lab', 'logs', 'no-such-process').catch((e: unknown) => e)) as {
    code: number;
    stderr: string;
  };
  t.equal(error.code, 1);
  t.match(error.stderr, /no log for no-such-process/);
});
