import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labPaths, REPO_ROOT, readLabState, ToxiproxyClient } from '@cloudcafe/local-platform';
import t from 'tap';
import { unreverted } from '../../src/commands/revert.js';
import { KubeStandIn } from './kube-stand-in.js';

// `cloudcafe experiment revert <run-id>` as a user runs it after a crash: only the journal to go
// on. Local faults are undone on the lab's real Toxiproxy; Kubernetes ones against the STAND-IN
// API server (no real API server can run here).

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

/** Asynchronous, so the stand-in server in this process can answer the CLI while it runs. */
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

t.test('a cache outage left by a crashed run: its journalled links are enabled again', async (t) => {
  // Prepare: the crashed run had cut every link to Redis it journalled
  const links = (readLabState(labPaths())?.links ?? []).filter((l) => l.to === 'redis').map((l) => l.name);
  if (links.length === 0) throw new Error('the lab has no link to redis');
  for (const link of links) await toxiproxy.setEnabled(link, false);
  t.teardown(async () => {
    for (const link of links) await toxiproxy.setEnabled(link, true);
  });
  const file = journal('local', [
    {
      type: 'fault.injecting',
      fault: 'no cache',
      spec: { type: 'cache-outage' },
      tag: 'cloudcafe-crashed-0',
    },
    { type: 'fault.revert-info', fault: 'no cache', tag: 'cloudcafe-crashed-0', revert: { links } },
  ]);

  // Act
  const run = await cli(file);

  // Assess
  t.equal(run.status, 0, run.stderr);
  for (const link of links) t.equal((await toxiproxy.proxy(link)).enabled, true, `${link} enabled again`);
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

t.test(
  'kubernetes: a paused Deployment is scaled back to its journalled replicas (stand-in API server)',
  async (t) => {
    // Prepare: the crashed run had scaled inventory from 3 to 0
    const api = new KubeStandIn();
    api.addDeployment('inventory', 0);
    const server = await api.start();
    t.teardown(() => api.stop());
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeconfig(server));
    const file = journal('kubernetes', [
      {
        type: 'fault.injecting',
        fault: 'pause',
        spec: { type: 'pause', process: 'inventory' },
        tag: 'cloudcafe-crashed-0',
      },
      {
        type: 'fault.revert-info',
        fault: 'pause',
        revert: { platform: 'kubernetes', namespace: 'cloudcafe', deployment: 'inventory', replicas: 3 },
      },
    ]);

    // Act
    const run = await cli(file, '--kubeconfig', kubeconfig, '--context', 'lab');

    // Assess
    t.equal(run.status, 0, run.stderr);
    t.match(run.stdout, /✓ pause "pause"/);
    t.equal(api.deployments.get('inventory')?.replicas, 3);
    t.same(
      api.requests.filter((r) => r.method === 'PATCH').map((r) => r.body),
      [{ spec: { replicas: 3 } }],
    );
  },
);
