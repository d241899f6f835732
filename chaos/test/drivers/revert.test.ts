import t from 'tap';
import { unreverted } from '../../src/commands/revert.js';

// Which journalled faults `cloudcafe experiment revert <run-id>` undoes. The command itself, run
// as a user runs it after a crash, is in revert.integration.test.ts (local faults) and
// kubernetes.integration.test.ts (a paused Deployment).

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
