import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labPaths, labStatus, REPO_ROOT, readLabState, ToxiproxyClient } from '@cloudcafe/local-platform';
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

/** Four five-minute faults of four kinds, all in force at once, then a long wait. */
function fourFaults(latencyLink: string, cutLink: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cloudcafe-halt-')), 'four-faults.yaml');
  const step = (name: string, fault: string) =>
    `  - { type: fault, name: ${name}, fault: ${fault}, duration: 5m }`;
  writeFileSync(
    file,
    `id: halt-four-faults
title: four faults for halt to find
description: written by the halt test
tags: [test]
platforms: [local]
steadyState:
  probes:
    - { type: http, name: healthy, path: /api/orders/health/live, tolerance: { type: status, equals: 200 } }
method:
${[
  step('slow link', `{ type: latency, link: ${latencyLink}, latencyMs: 300 }`),
  step('cut link', `{ type: partition, link: ${cutLink} }`),
  step('stopped process', '{ type: pause, process: analytics }'),
  step('fault flag', '{ type: lambda-delay, delay: 1s }'),
].join('\n')}
  - { type: wait, duration: 5m }
recovery: { within: 30s }
`,
  );
  return file;
}

t.test(
  'after a SIGKILL of the orchestrator, halt undoes a toxic, a cut link, a stopped process and a flag',
  async (t) => {
    // Prepare: a run with all four in force, killed outright
    const state = readLabState(labPaths());
    const latencyLink = state?.links.find((l) => l.from === 'order' && l.to === 'inventory')?.name;
    const cutLink = state?.links.find((l) => l.from === 'menu' && l.to === 'redis')?.name;
    if (!state || !latencyLink || !cutLink) throw new Error('the lab has no order or menu links');
    const token = readFileSync(state.adminTokenFile, 'utf8').trim();
    t.teardown(() => rmSync(haltFile(), { force: true }));
    const run = spawn(
      process.execPath,
      ['chaos/bin/cloudcafe.js', 'experiment', 'run', fourFaults(latencyLink, cutLink)],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    run.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise((r) => run.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if ((out.match(/effect of "/g) ?? []).length >= 4) {
          clearInterval(check);
          resolve();
        }
      }, 200);
      run.once('exit', () => {
        clearInterval(check);
        reject(new Error(`the run ended before its four faults were in force:\n${out}`));
      });
    });
    run.kill('SIGKILL');
    await exited;
    const inForce = {
      toxic: (await toxiproxy.proxy(latencyLink)).toxics.length > 0,
      cut: !(await toxiproxy.proxy(cutLink)).enabled,
      stopped: (await labStatus())?.processes.find((p) => p.name === 'analytics')?.state,
    };

    // Act
    const started = Date.now();
    const halted = await cli('halt');
    const tookMs = Date.now() - started;

    // Assess
    t.same(inForce, { toxic: true, cut: true, stopped: 'paused' }, 'all in force when the orchestrator died');
    t.equal(halted.status, 0, halted.stdout + halted.stderr);
    t.same((await toxiproxy.proxy(latencyLink)).toxics, [], 'the toxic is gone');
    t.ok((await toxiproxy.proxy(cutLink)).enabled, 'the link is enabled');
    t.equal(
      (await labStatus())?.processes.find((p) => p.name === 'analytics')?.state,
      'running',
      'analytics runs',
    );
    const flags = (await (
      await fetch(`${state.gateway}/api/payments/admin/flags`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as { flags: { name: string; active: string }[] };
    t.equal(flags.flags.find((f) => f.name === 'lambda-delay')?.active, 'off', 'the fault flag is off');
    // two outcomes far apart: halt (a CLI start and a few calls) against the faults' own five minutes
    t.ok(tookMs < 120_000, `halt took ${tookMs} ms, CLI start included; the faults had 5 minutes to run`);
    t.comment(`halt, CLI start included: ${tookMs} ms`);
    const blocked = await cli('experiment', 'run', 'network-latency');
    t.match(blocked.stderr + blocked.stdout, /chaos is halted/, 'a new run is refused until --release');
  },
);
