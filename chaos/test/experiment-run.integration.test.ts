import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  labPaths,
  labUp,
  REPO_ROOT,
  readLabState,
  ToxiproxyClient,
  waitFor,
} from '@cloudcafe/local-platform';
import t from 'tap';

// Runs the orchestrator as a user would (the CLI) against the shared lab. The experiments are
// written from the lab's own topology: a service's link to its database, and its health.

const toxiproxy = new ToxiproxyClient();
const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-run-'));

function target() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up');
  // A database link the service's health depends on (order checks PostgreSQL), so a cut link
  // breaches a health-based abort condition; a cache link would not (services fall back).
  const link = state.links.find((l) => l.to === 'postgres') ?? state.links.find((l) => l.to === 'redis');
  if (!link) throw new Error('no service with a database or cache link in the lab');
  const health = state.services.find((s) => s.name === link.from)?.health.replace(state.gateway, '');
  return { link: link.name, health: health as string };
}

function experiment(name: string, body: string): string {
  const { health } = target();
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `id: ${name}
title: ${name}
description: written by the orchestrator tests
tags: [test]
platforms: [local]
steadyState:
  probes:
    - { type: http, name: healthy, path: ${health}, tolerance: { type: status, equals: 200 } }
${body}
recovery: { within: 30s }
`,
  );
  return file;
}

/** An experiment whose method is one fault step. */
const oneFault = (name: string, step: string, fault: string, duration: string): string =>
  experiment(
    name,
    `method:
  - type: fault
    name: ${step}
    fault: ${fault}
    duration: ${duration}`,
  );

interface Run {
  child: ChildProcess;
  stdout: string;
  exit: Promise<number | null>;
}

function cli(...args: string[]): Run {
  const child = spawn(process.execPath, ['chaos/bin/cloudcafe.js', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { child, stdout: '', exit: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout?.on('data', (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    run.stdout += d.toString();
  });
  return run;
}

const reportDir = (stdout: string) => /report:\s+(\S+)\/report\.html/.exec(stdout)?.[1];
const journalOf = (d: string) =>
  JSON.parse(readFileSync(join(d, 'journal.json'), 'utf8')) as { events: { type: string }[] };

t.test('a latency experiment verifies its fault, rolls back and writes its reports', async (t) => {
  // Prepare
  const { link } = target();
  const file = oneFault(
    'test-latency',
    'slow link',
    `{ type: latency, link: ${link}, latencyMs: 150 }`,
    `3s`,
  );
  // Act
  const run = cli('experiment', 'run', file);
  const code = await run.exit;
  // Assess
  t.equal(code, 0, 'exits 0');
  if (code !== 0) t.comment(run.stdout);
  t.match(run.stdout, /✓ effect of "slow link": round trip .* ms → .* ms/);
  t.match(run.stdout, /verdict: PASSED/);
  const d = reportDir(run.stdout) as string;
  for (const f of ['journal.json', 'report.html', 'summary.md', 'junit.xml'])
    t.ok(existsSync(join(d, f)), `${f} written`);
  const types = journalOf(d).events.map((e) => e.type);
  t.ok(
    types.indexOf('fault.injecting') < types.indexOf('fault.injected'),
    'the injection is journalled before it acts',
  );
  t.ok(types.indexOf('fault.injected') < types.indexOf('fault.reverted'), 'and the revert after it');
  t.match(readFileSync(join(d, 'junit.xml'), 'utf8'), /failures="0"/);
  t.same((await toxiproxy.proxy(link)).toxics, [], 'no toxic left on the link');
});

t.test('an abort condition that breaches stops the method at once and rolls back', async (t) => {
  const { link, health } = target();
  const file = experiment(
    'test-abort',
    `method:
  - type: fault
    name: cut the link
    fault: { type: partition, link: ${link} }
    duration: 10m
abort:
  - name: health stays green
    for: 2s
    probe: { type: http, name: health, path: ${health}, timeout: 2s, tolerance: { type: status, equals: 200 } }`,
  );
  const started = Date.now();
  const run = cli('experiment', 'run', file);
  const code = await run.exit;
  t.equal(code, 1, 'the run fails');
  // two outcomes far apart: an abort ends the run seconds after the breach; a run that missed
  // it would hold the fault its full 10 minutes
  t.ok(Date.now() - started < 300_000, 'it did not wait out the 10-minute fault');
  t.match(run.stdout, /ABORT: health stays green \(rollback started \d+ ms after the breach was seen\)/);
  t.match(run.stdout, /ABORTED/);
  t.equal((await toxiproxy.proxy(link)).enabled, true, 'the link is back');
  const results = JSON.parse(readFileSync(join(reportDir(run.stdout) as string, 'results.json'), 'utf8'));
  // the same margin for the reaction: milliseconds when the checks run beside the method,
  // minutes if the rollback waited for the fault to end
  t.ok(results.results[0].abort.reactionMs < 60_000, `reaction ${results.results[0].abort.reactionMs} ms`);
});

t.test('Ctrl-C mid-fault rolls back first, then exits non-zero', async (t) => {
  const { link } = target();
  const file = oneFault(
    'test-interrupt',
    'long slow link',
    `{ type: latency, link: ${link}, latencyMs: 100 }`,
    `120s`,
  );
  const run = cli('experiment', 'run', file);
  await waitFor('the fault to be injected', async () => run.stdout.includes('effect of "long slow link"'), {
    timeoutMs: 30_000,
  });
  t.equal((await toxiproxy.proxy(link)).toxics.length, 1, 'the toxic is in place');
  run.child.kill('SIGINT');
  const code = await run.exit;
  t.not(code, 0, 'exits non-zero');
  t.match(run.stdout, /SIGINT: stopping — rolling back every fault first/);
  t.same((await toxiproxy.proxy(link)).toxics, [], 'the toxic was removed before exit');
  t.ok(journalOf(reportDir(run.stdout) as string).events.some((e) => e.type === 'rollback.finished'));
});

t.test('an orchestrator killed mid-fault leaves nothing behind after the next lab up', async (t) => {
  const { link } = target();
  const file = oneFault('test-crash', 'cut the link', `{ type: partition, link: ${link} }`, '120s');
  const run = cli('experiment', 'run', file);
  await waitFor('the fault to be injected', async () => run.stdout.includes('effect of "cut the link"'), {
    timeoutMs: 30_000,
  });
  run.child.kill('SIGKILL');
  await run.exit;
  t.equal((await toxiproxy.proxy(link)).enabled, false, 'the dead orchestrator left the link cut');
  await labUp();
  t.equal((await toxiproxy.proxy(link)).enabled, true, 'lab up restored it');
});

t.test(
  'an orchestrator killed mid-fault: the lab daemon removes the toxic when the fault ends',
  async (t) => {
    const { link } = target();
    const durationMs = 6000;
    const file = oneFault(
      'test-killed',
      'slow',
      `{ type: latency, link: ${link}, latencyMs: 300 }`,
      `${durationMs / 1000}s`,
    );
    const run = cli('experiment', 'run', file);
    // printed on `fault.injecting`, before the driver acts: the fault's duration counts from here
    await waitFor('the fault to be injected', async () => run.stdout.includes('injecting "slow"'), {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const injectedAt = Date.now();
    await waitFor('its effect to be seen', async () => run.stdout.includes('effect of "slow"'), {
      timeoutMs: 30_000,
    });
    run.child.kill('SIGKILL');
    await run.exit;
    const toxics = async () =>
      (await toxiproxy.proxy(link)).toxics.filter((x) => x.name.startsWith('cloudcafe-'));
    if (Date.now() < injectedAt + durationMs) {
      t.ok((await toxics()).length > 0, 'the killed orchestrator left the toxic in force');
    }
    // The bound: gone by the fault's duration plus 5 s, with nobody left to revert it.
    const bound = injectedAt + durationMs + 5000 - Date.now();
    await waitFor('the daemon to remove the toxic', async () => (await toxics()).length === 0, {
      timeoutMs: Math.max(100, bound),
      intervalMs: 100,
    });
    t.same(await toxics(), [], 'no toxic past the fault duration + 5 s');
  },
);

t.test('--dry-run prints the plan and touches nothing', async (t) => {
  const { link } = target();
  const file = oneFault('test-dry-run', 'cut the link', `{ type: partition, link: ${link} }`, '10s');
  const run = cli('experiment', 'run', file, '--dry-run');
  t.equal(await run.exit, 0);
  t.match(run.stdout, new RegExp(`inject partition on ${link} for 10s`));
  t.match(run.stdout, /roll back every fault \(always\)/);
  t.equal((await toxiproxy.proxy(link)).enabled, true, 'the link was not touched');
});
