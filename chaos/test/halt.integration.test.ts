import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labPaths, REPO_ROOT, readLabState, ToxiproxyClient } from '@cloudcafe/local-platform';
import t from 'tap';
import { haltFile } from '../src/commands/halt.js';
import { REPORTS_DIR } from '../src/journal.js';

// `cloudcafe halt` against the shared lab, as an SRE runs it when a game day goes wrong and the
// orchestrator that injected the faults is gone: what a dead run left (a toxic only its journal
// knows of) and what someone set by hand (a fault flag) are undone, and no run starts until
// `halt --release`.

const toxiproxy = new ToxiproxyClient();

function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npx', ['cloudcafe', ...args], { cwd: REPO_ROOT, env: process.env }, (error, stdout, stderr) =>
      resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

t.test(
  'halt reverts what a dead run left and what was set by hand, and blocks runs until released',
  async (t) => {
    // Prepare: a crashed run's toxic and journal, and a fault flag on the order service
    const state = readLabState(labPaths());
    const link = state?.links.find((l) => l.from === 'order')?.name;
    if (!state || !link) throw new Error('the lab has no order link');
    const token = readFileSync(state.adminTokenFile, 'utf8').trim();
    const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const runDir = join(REPORTS_DIR, `halt-test-${Date.now().toString(36)}`);
    mkdirSync(runDir, { recursive: true });
    t.teardown(async () => {
      rmSync(runDir, { recursive: true, force: true });
      rmSync(haltFile(), { force: true });
      await toxiproxy.removeToxic(link, 'cloudcafe-halt-test-0').catch(() => {});
    });
    await toxiproxy.addToxic(link, {
      name: 'cloudcafe-halt-test-0',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 400, jitter: 0 },
    });
    const spec = { type: 'latency', link, latencyMs: 400 };
    const at = new Date().toISOString();
    writeFileSync(
      join(runDir, 'journal.json'),
      JSON.stringify({
        runId: 'halt-test',
        platform: 'local',
        events: [
          { at, type: 'fault.injecting', experiment: 'x', fault: 'slow', spec, tag: 'cloudcafe-halt-test-0' },
        ],
      }),
    );
    const flag = await fetch(`${state.gateway}/api/orders/admin/flags/dependency-latency`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ variant: '100ms', ttlSeconds: 600 }),
    });
    t.equal(flag.status, 200, 'flag set');

    // Act
    const halted = await cli('halt');

    // Assess
    t.equal(halted.status, 0, halted.stdout + halted.stderr);
    const toxics = (await toxiproxy.proxy(link)).toxics.map((x) => x.name);
    t.notOk(toxics.includes('cloudcafe-halt-test-0'), 'the dead run’s toxic is gone');
    const listed = await fetch(`${state.gateway}/api/orders/admin/flags`, { headers: admin });
    const { flags } = (await listed.json()) as { flags: { name: string; active: string }[] };
    t.equal(flags.find((f) => f.name === 'dependency-latency')?.active, 'off', 'the fault flag is off');
    const journal = JSON.parse(readFileSync(join(runDir, 'journal.json'), 'utf8')) as {
      events: { type: string; by?: string }[];
    };
    t.ok(
      journal.events.some((e) => e.type === 'fault.reverted' && e.by === 'halt'),
      'journalled as undone by halt',
    );

    const blocked = await cli('experiment', 'run', 'network-latency');
    t.not(blocked.status, 0, 'a run is refused while halted');
    t.match(blocked.stderr + blocked.stdout, /chaos is halted/);

    const released = await cli('halt', '--release');
    t.equal(released.status, 0);
    t.match(released.stdout, /released/);
  },
);
