import { readFileSync } from 'node:fs';
import { labPaths, readLabState, ToxiproxyClient } from '@cloudcafe/local-platform';
import t from 'tap';
import { crashedJournal, revertCli } from '../support/revert-cli.js';

// `cloudcafe experiment revert <run-id>` as a user runs it after a crash: only the journal to go
// on. Local faults are undone on the lab's real Toxiproxy; Kubernetes ones on a real control
// plane, in kubernetes.integration.test.ts.

const toxiproxy = new ToxiproxyClient();

t.test('a cache outage left by a crashed run: its journalled links are enabled again', async (t) => {
  // Prepare: the crashed run had cut every link to Redis it journalled
  const links = (readLabState(labPaths())?.links ?? []).filter((l) => l.to === 'redis').map((l) => l.name);
  if (links.length === 0) throw new Error('the lab has no link to redis');
  for (const link of links) await toxiproxy.setEnabled(link, false);
  t.teardown(async () => {
    for (const link of links) await toxiproxy.setEnabled(link, true);
  });
  const file = crashedJournal('local', [
    {
      type: 'fault.injecting',
      fault: 'no cache',
      spec: { type: 'cache-outage' },
      tag: 'cloudcafe-crashed-0',
    },
    { type: 'fault.revert-info', fault: 'no cache', tag: 'cloudcafe-crashed-0', revert: { links } },
  ]);

  // Act
  const run = await revertCli(file);

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
    const file = crashedJournal('local', [
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
    const run = await revertCli(file);
    const again = await revertCli(file);

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
