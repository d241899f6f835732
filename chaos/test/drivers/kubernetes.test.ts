import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { kubernetesDriver } from '../../src/drivers/kubernetes/driver.js';
import type { InjectContext } from '../../src/drivers/types.js';
import { KubeStandIn } from './kube-stand-in.js';

// No real Kubernetes API server can run on these machines: every test here runs against a
// STAND-IN server (kube-stand-in.ts) that checks paths, verbs, bodies and label selectors as the
// API does and answers with real-shaped objects. What it cannot show: CNI enforcement of a
// NetworkPolicy, real scheduling and readiness, admission webhooks, resourceVersion conflicts.

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-kube-'));

async function cluster(t: Test, setup: (api: KubeStandIn) => void) {
  const api = new KubeStandIn();
  setup(api);
  const server = await api.start();
  t.teardown(() => api.stop());
  const kubeconfig = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, api.kubeconfig(server));
  // the kubeconfig's current context points nowhere: only --context lab reaches the stand-in
  const driver = kubernetesDriver({ kubeconfig, context: 'lab', namespace: 'cloudcafe' });
  return { api, driver };
}

function context(durationMs = 1000) {
  const journal: { type: string; detail: Record<string, unknown>; at: number }[] = [];
  const ctx: InjectContext = {
    durationMs,
    revertInfo: (info) => journal.push({ type: 'revert-info', detail: { ...info }, at: Date.now() }),
    record: (type, detail) => journal.push({ type, detail: { ...detail }, at: Date.now() }),
  };
  return { ctx, journal };
}

t.test(
  'kill deletes at most half the ready opted-in pods and sees them replaced (stand-in API server)',
  async (t) => {
    // Prepare
    const { api, driver } = await cluster(t, (a) => {
      a.addDeployment('inventory', 4);
      a.addDeployment('menu', 2);
    });
    const before = api.readyPods('inventory').map((p) => p.name);
    const { ctx, journal } = context();

    // Act
    const active = await driver.inject({ type: 'kill', process: 'inventory' }, 'cloudcafe-run-0', ctx);
    const effect = await active.verify();

    // Assess
    const list = api.requests.find((r) => r.method === 'GET' && r.path.endsWith('/pods'));
    t.equal(
      new URLSearchParams(list?.query).get('labelSelector'),
      'app.kubernetes.io/name=inventory,cloudcafe.io/chaos=allowed',
      'pods are selected by name AND the chaos opt-in label',
    );
    const deletes = api.requests.filter((r) => r.method === 'DELETE');
    t.equal(deletes.length, 2, 'the default blast radius (50%) deletes 2 of 4');
    t.ok(
      deletes.every((d) => d.path.startsWith('/api/v1/namespaces/cloudcafe/pods/inventory-')),
      'only inventory pods',
    );
    t.match(deletes[0]?.body, { kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    t.equal(api.readyPods('menu').length, 2, 'menu untouched');
    t.ok(effect.verified, effect.detail);
    const after = api.readyPods('inventory').map((p) => p.name);
    t.equal(after.length, 4, 'as many ready pods as before');
    t.equal(after.filter((n) => before.includes(n)).length, 2, 'two of them are replacements');
    t.same(
      journal.find((j) => j.type === 'revert-info')?.detail.deletedPods,
      deletes.map((d) => d.path.split('/').pop()),
    );
  },
);

t.test('kill honours --max-pods as a count (stand-in API server)', async (t) => {
  // Prepare
  const api = new KubeStandIn();
  api.addDeployment('inventory', 5);
  const server = await api.start();
  t.teardown(() => api.stop());
  const kubeconfig = join(dir, 'config-count');
  writeFileSync(kubeconfig, api.kubeconfig(server));
  const driver = kubernetesDriver({ kubeconfig, context: 'lab', maxPods: '1' });

  // Act
  const active = await driver.inject(
    { type: 'kill', process: 'inventory' },
    'cloudcafe-run-0',
    context().ctx,
  );
  await active.verify();

  // Assess
  t.equal(api.requests.filter((r) => r.method === 'DELETE').length, 1);
});

t.test(
  'pause scales to zero, journals the replicas first, and restores exactly 3 (stand-in API server)',
  async (t) => {
    // Prepare
    const { api, driver } = await cluster(t, (a) => a.addDeployment('inventory', 3));
    const { ctx, journal } = context();

    // Act
    const active = await driver.inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-run-0', ctx);
    const effect = await active.verify();
    const podsWhilePaused = api.readyPods('inventory').length;
    const revert = await active.revert();

    // Assess
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    t.same(
      patches.map((p) => [p.path, p.contentType, p.body]),
      [
        [
          '/apis/apps/v1/namespaces/cloudcafe/deployments/inventory/scale',
          'application/merge-patch+json',
          { spec: { replicas: 0 } },
        ],
        [
          '/apis/apps/v1/namespaces/cloudcafe/deployments/inventory/scale',
          'application/merge-patch+json',
          { spec: { replicas: 3 } },
        ],
      ],
    );
    t.same(journal[0]?.detail, {
      platform: 'kubernetes',
      namespace: 'cloudcafe',
      deployment: 'inventory',
      replicas: 3,
    });
    t.ok(effect.verified, effect.detail);
    t.equal(podsWhilePaused, 0);
    t.ok(revert.verified, revert.detail);
    t.equal(api.readyPods('inventory').length, 3, 'readiness regained at the exact previous count');
  },
);

t.test(
  'a workload without cloudcafe.io/chaos=allowed is refused and left alone (stand-in API server)',
  async (t) => {
    // Prepare
    const { api, driver } = await cluster(t, (a) => a.addDeployment('menu', 2, false));

    // Act
    const pause = driver.inject({ type: 'pause', process: 'menu' }, 'cloudcafe-run-0', context().ctx);
    const kill = driver.inject({ type: 'kill', process: 'menu' }, 'cloudcafe-run-1', context().ctx);

    // Assess
    await t.rejects(pause, /not labelled cloudcafe\.io\/chaos=allowed/);
    await t.rejects(kill, /no ready pod matches/);
    t.equal(api.requests.filter((r) => r.method !== 'GET').length, 0, 'no write reached the API');
    t.equal(api.readyPods('menu').length, 2);
  },
);

t.test(
  'partition narrows the target policy to exclude the caller and puts it back exactly (stand-in API server)',
  async (t) => {
    // Prepare
    const original = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'inventory',
        namespace: 'cloudcafe',
        labels: { 'app.kubernetes.io/name': 'inventory' },
      },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'inventory' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'cloudcafe' } } }],
            ports: [{ protocol: 'TCP', port: 3002 }],
          },
        ],
        egress: [{ ports: [{ protocol: 'TCP', port: 6379 }] }],
      },
    };
    const { api, driver } = await cluster(t, (a) => {
      a.addDeployment('inventory', 2);
      a.addPolicy(original);
    });
    const { ctx, journal } = context();

    // Act
    const active = await driver.inject(
      { type: 'partition', link: 'menu-to-inventory' },
      'cloudcafe-run-0',
      ctx,
    );
    const effect = await active.verify();
    const during = api.policies.get('inventory') as typeof original;
    const revert = await active.revert();

    // Assess
    t.ok(effect.verified, effect.detail);
    t.same(during.spec.ingress[0]?.from[0], {
      podSelector: {
        matchLabels: { 'app.kubernetes.io/part-of': 'cloudcafe' },
        matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['menu'] }],
      },
    });
    t.ok(revert.verified, revert.detail);
    const restored = api.policies.get('inventory') as typeof original;
    t.same(restored.spec, original.spec, 'the policy is exactly as it was');
    t.same((journal[0]?.detail.policies as unknown[] | undefined)?.[0], {
      ...original,
      metadata: { ...original.metadata, resourceVersion: '1' },
    });
  },
);

t.test(
  'partition with no policy on the target creates one named by the tag and deletes it (stand-in API server)',
  async (t) => {
    // Prepare
    const { api, driver } = await cluster(t, (a) => a.addDeployment('inventory', 2));

    // Act
    const active = await driver.inject(
      { type: 'partition', link: 'menu-to-inventory' },
      'cloudcafe-run-0',
      context().ctx,
    );
    const effect = await active.verify();
    const created = api.policies.has('cloudcafe-run-0');
    await active.revert();

    // Assess
    t.ok(effect.verified, effect.detail);
    t.ok(created);
    t.notOk(api.policies.has('cloudcafe-run-0'), 'removed on revert');
  },
);

t.test('undo from a crashed run restores the journalled replicas (stand-in API server)', async (t) => {
  // Prepare: a run scaled inventory to zero and died before its revert
  const { api, driver } = await cluster(t, (a) => a.addDeployment('inventory', 3));
  const { ctx, journal } = context();
  await driver.inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-run-0', ctx);

  // Act
  const effect = await driver.undo?.({
    name: 'pause inventory',
    spec: { type: 'pause', process: 'inventory' },
    tag: 'cloudcafe-run-0',
    revertInfo: journal.find((j) => j.type === 'revert-info')?.detail,
  });

  // Assess
  t.ok(effect?.verified, effect?.detail ?? 'no effect reported');
  t.equal(api.deployments.get('inventory')?.replicas, 3);
  t.equal(api.readyPods('inventory').length, 3);
});

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
