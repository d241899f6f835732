import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';

// `cloudcafe experiment revert <run-id>` as a user runs it after a crash, with only the journal
// a crashed run left to go on.

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-revert-'));

/** A crashed run's journal file, holding `events` (each stamped now, of experiment `x`). */
export function crashedJournal(platform: string, events: Record<string, unknown>[]): string {
  const file = join(dir, `journal-${Math.random().toString(36).slice(2)}.json`);
  const at = new Date().toISOString();
  writeFileSync(
    file,
    JSON.stringify({
      runId: 'crashed-run',
      platform,
      events: events.map((e) => ({ at, experiment: 'x', ...e })),
    }),
  );
  return file;
}

/** The CLI in a process of its own, as a user runs it; bounded so a hang fails the test. */
export function revertCli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['cloudcafe', 'experiment', 'revert', ...args],
      { cwd: REPO_ROOT, env: process.env, timeout: 300_000 },
      (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
