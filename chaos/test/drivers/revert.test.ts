import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labPaths, REPO_ROOT, readLabState, ToxiproxyClient } from '@cloudcafe/local-platform';
import t from 'tap';
import { unreverted } from '../../src/commands/revert.js';

// `cloudcafe experiment revert <run-id>` as a user runs it after a crash: only the journal to go
// on. Local faults are undone on the lab's real Toxiproxy; Kubernetes ones on a real control
// plane, in kubernetes.integration.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-revert-'));
const toxiproxy = new ToxiproxyClient();

function journal(platform: string, events: Record<string, unknown>[]): string {
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

/** The CLI as a user runs it, in a process of its own. */
function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['cloudcafe', 'experiment', 'revert', ...args],
      { cwd: REPO_ROOT, env: process.env },
      (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test('only faults injected and never reverted are undone', async (t) => {
  // Prepare
  const events = [
    { type: 'fault.injecting', fault: 'a', spec: { type: 'kill', process: 'order' }, tag: 't-0' },
    { type: 'fault.reverted', fault: 'a' },
    { type: 'fault.injecting', fault: 'b', spec: { type: 'pause', process: 'order' }, tag: 't-1' },
    { type: 'fault.revert-info', fault: 'b', revert: { replicas: 2 } },
  ].map((e) => ({ at: '', experiment: 'x', ...e }));

  // Act
  const open = unreverted({ runId: 'r', events });

  // Assess
  t.same(open, [
    { name: 'b', spec: { type: 'pause', process: 'order' }, tag: 't-1', revertInfo: { replicas: 2 } },
  ]);
});

t.test(
  'local: a latency toxic and a disabled link left by a crashed run are removed (lab Toxiproxy)',
  async (t) => {
    // Prepare: what a run killed mid-fault leaves behind
    const state = readLabState(labPaths());
    const link = state?.links[0]?.name;
    if (!link) throw new Error('the lab has no link');
    await toxiproxy.addToxic(link, {
      name: 'cloudcafe-crashed-0',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 500, jitter: 0 },
    });
    await toxiproxy.setEnabled(link, false);
    t.teardown(() => toxiproxy.setEnabled(link, true));
    const file = journal('local', [
      {
        type: 'fault.injecting',
        fault: 'slow',
        spec: { type: 'latency', link, latencyMs: 500 },
        tag: 'cloudcafe-crashed-0',
      },
      {
        type: 'fault.injecting',
        fault: 'cut',
        spec: { type: 'partition', link },
        tag: 'cloudcafe-crashed-1',
      },
    ]);

    // Act
    const run = await cli(file);
    const again = await cli(file);

    // Assess
    t.equal(run.status, 0, run.stderr);
    const proxy = await toxiproxy.proxy(link);
    t.equal(proxy.enabled, true, 'link enabled again');
    t.notOk(
      proxy.toxics.some((x) => x.name === 'cloudcafe-crashed-0'),
      'toxic removed',
    );
    t.match(again.stdout, /nothing to do/, 'the revert is journalled, so a second one does nothing');
    const events = (JSON.parse(readFileSync(file, 'utf8')) as { events: { type: string; by?: string }[] })
      .events;
    t.equal(events.filter((e) => e.type === 'fault.reverted' && e.by === 'experiment revert').length, 2);
  },
);
