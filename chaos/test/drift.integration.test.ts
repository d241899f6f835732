import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localDriver, ToxiproxyClient } from '@cloudcafe/local-platform';
import t from 'tap';
import { driftLines, driftOf, snapshotOf } from '../src/drift.js';
import type { Experiment } from '../src/experiment/schema.js';
import { Journal } from '../src/journal.js';
import { platformFor } from '../src/platform.js';
import { runExperiment } from '../src/runner.js';

// The drift certificate on the shared lab: a real run (a latency toxic on order-to-inventory,
// injected, verified, reverted) hands the lab back as found — the certificate is empty — and a
// toxic planted on another link the moment the run's revert is journalled is named by it.

const toxiproxy = new ToxiproxyClient();
const LEFTOVER = 'cloudcafe-drift-test-leftover';
const PLANTED_ON = 'menu-to-redis';

const experiment: Experiment = {
  id: 'drift-certificate',
  title: 'drift certificate',
  description: 'a short latency fault, for the drift certificate test',
  tags: ['test'],
  platforms: ['local'],
  steadyState: {
    probes: [
      {
        type: 'http',
        name: 'order healthy',
        path: '/api/orders/health',
        tolerance: { type: 'status', equals: 200 },
      },
    ],
  },
  method: [
    {
      type: 'fault',
      name: 'slow inventory link',
      fault: { type: 'latency', link: 'order-to-inventory', latencyMs: 200 },
      duration: '2s',
    },
  ],
  recovery: { within: '30s' },
};

async function run(plant: boolean) {
  const journal = new Journal(
    `drift-${plant}-${Date.now()}`,
    { platform: 'local' },
    mkdtempSync(join(tmpdir(), 'drift-')),
  );
  let planted: Promise<unknown> = Promise.resolve();
  journal.onEvent((e) => {
    if (plant && e.type === 'fault.reverted')
      planted = toxiproxy.addToxic(PLANTED_ON, {
        name: LEFTOVER,
        type: 'latency',
        stream: 'downstream',
        attributes: { latency: 250, jitter: 0 },
      });
  });
  const before = await snapshotOf(localDriver());
  const result = await runExperiment(experiment, {
    platform: platformFor('local'),
    journal,
    signal: new AbortController().signal,
  });
  await planted;
  return { result, drift: driftOf(before, await snapshotOf(localDriver())) };
}

t.test('a clean run is certified clean; a leftover planted after its revert is named', async (t) => {
  t.teardown(() => toxiproxy.removeToxic(PLANTED_ON, LEFTOVER).catch(() => {}));

  const clean = await run(false);
  t.equal(clean.result.verdict, 'passed', clean.result.reasons.join('; '));
  t.same(clean.drift, { certified: true, entries: [] }, driftLines(clean.drift).join('\n'));

  const dirty = await run(true);
  t.equal(dirty.result.verdict, 'passed', 'the run itself reverted its own fault');
  t.same(dirty.drift.entries, [
    {
      what: `toxic ${PLANTED_ON}/${LEFTOVER}`,
      before: undefined,
      after: 'latency downstream latency=250 jitter=0',
    },
  ]);
  t.match(driftLines(dirty.drift).join('\n'), new RegExp(LEFTOVER));
});
