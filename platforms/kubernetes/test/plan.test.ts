import t from 'tap';
import { blastRadius, kubernetesDriver } from '../src/driver.js';

// What the Kubernetes driver decides without asking a cluster: refusals, the dry-run plan and
// the blast radius. Its calls to a real API server are in kubernetes.integration.test.ts.

t.test('latency is refused with a reason, and the dry-run plan names the exact calls', async (t) => {
  // Prepare
  const driver = kubernetesDriver({});

  // Act
  const reason = driver.unsupported({ type: 'latency', link: 'order-to-inventory', latencyMs: 100 });
  const plan = driver.plan?.({ type: 'pause', process: 'inventory' }, 'tag', 5000) ?? [];

  // Assess
  t.match(reason, /fault flag/);
  t.equal(driver.unsupported({ type: 'kill', process: 'inventory' }), undefined);
  t.match(
    plan.join('\n'),
    'PATCH /apis/apps/v1/namespaces/cloudcafe/deployments/inventory/scale {"spec":{"replicas":0}}',
  );
});

t.test('the blast radius is a count or a share of the ready pods, never none and never more', async (t) => {
  // Act / Assess
  t.equal(blastRadius('50%', 4), 2);
  t.equal(blastRadius('50%', 1), 1, 'at least one');
  t.equal(blastRadius('5', 3), 3, 'at most the ready pods');
  t.throws(() => blastRadius('half', 4), /count \(2\) or a percentage \(50%\)/);
});
