import type { Driver } from '@cloudcafe/chaos-interface';
import t from 'tap';
import { driftLines, driftOf, snapshotOf } from '../src/drift.js';
import { summaryMarkdown } from '../src/report.js';
import { driftHtml } from '../src/report-sections.js';

// The drift certificate's logic, without a lab: two snapshots in, what differs out, and how the
// report words it. The lab-backed test (drift.integration.test.ts) plants a real leftover.

const before = {
  state: { 'link order-to-inventory': 'enabled', 'process order': 'running', 'flag order/x': 'off' },
};

t.test('the same state before and after: certified clean', async (t) => {
  const drift = driftOf(before, { state: { ...before.state } });
  t.same(drift, { certified: true, entries: [] });
  t.match(driftLines(drift)[0], /handed back as found/);
});

t.test('every difference is named: added, changed, gone', async (t) => {
  const drift = driftOf(before, {
    state: {
      'link order-to-inventory': 'disabled',
      'process order': 'running',
      'toxic order-to-inventory/cloudcafe-x-0': 'latency downstream latency=300 jitter=0',
    },
  });
  t.same(drift.entries, [
    { what: 'flag order/x', before: 'off', after: undefined },
    { what: 'link order-to-inventory', before: 'enabled', after: 'disabled' },
    {
      what: 'toxic order-to-inventory/cloudcafe-x-0',
      before: undefined,
      after: 'latency downstream latency=300 jitter=0',
    },
  ]);
  t.same(driftLines(drift), [
    'flag order/x: off → (absent)',
    'link order-to-inventory: enabled → disabled',
    'toxic order-to-inventory/cloudcafe-x-0: (absent) → latency downstream latency=300 jitter=0',
  ]);
  t.match(driftHtml(drift), /data-entries="3"/);
  t.match(driftHtml(drift), /cloudcafe-x-0/);
});

t.test('no snapshot, or a failed one, is no certificate — never a clean one', async (t) => {
  const none: Driver = {
    platform: 'aws',
    unsupported: () => undefined,
    inject: async () => Promise.reject(new Error()),
  };
  t.equal(await snapshotOf(none), undefined);
  t.match(driftOf(undefined, undefined), { certified: false, note: /takes no snapshot/ });
  const broken: Driver = { ...none, snapshot: async () => Promise.reject(new Error('cluster gone')) };
  const failed = await snapshotOf(broken);
  t.match(driftOf(before, failed), { certified: false, note: /snapshot failed after: cluster gone/ });
  t.match(driftLines(driftOf(before, failed))[0], /no drift certificate/);
});

t.test('summary.md carries the certificate', async (t) => {
  const drift = driftOf(before, { state: { ...before.state, 'process order': 'paused' } });
  const md = summaryMarkdown({
    runId: 'r',
    name: 'n',
    platform: 'local',
    startedAt: '',
    finishedAt: '',
    results: [],
    drift,
  });
  t.match(md, /## Drift certificate\n\n- process order: running → paused/);
});
