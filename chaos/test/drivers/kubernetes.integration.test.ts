import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { DriverOptions, InjectContext } from '@cloudcafe/chaos-interface';
import { FAULT_SWEEPER } from '@cloudcafe/contracts';
import { kubernetesDriver } from '@cloudcafe/kubernetes-platform';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import { buildImageFolder, type ImageFolder } from '@cloudcafe/test-support/image-folder';
import t from 'tap';
import { driftOf, snapshotOf } from '../../src/drift.js';
import {
  type AuditEvent,
  CONTEXT,
  type ControlPlane,
  startControlPlane,
} from '../support/kube-control-plane.js';
import { crashedJournal, revertCli } from '../support/revert-cli.js';

// Every test here runs against a REAL control plane (etcd, kube-apiserver, kube-controller-
// manager, kube-scheduler; support/kube-control-plane.ts) with kwok playing the kubelets of
// one simulated node. The project's own manifests are applied to it, and every fault is
// injected, verified and reverted through the real API, the real Deployment and ReplicaSet
// controllers and the real scheduler. What a control plane without kubelets and a CNI cannot
// show, and no test here claims: that a deleted pod's container stops (kwok pods run none;
// "Running" and "Ready" are kwok's), and that a NetworkPolicy blocks packets (there is no CNI;
// the API validates and stores it). Those are for a real cluster: docs/drivers.md.

const NAMESPACE = 'cloudcafe';
/** A namespace of the test's own, with an opted-in Deployment and no NetworkPolicy at all. */
const BARE_NAMESPACE = 'cloudcafe-bare';
/** A workload that did NOT opt in (no cloudcafe.io/chaos label), with a policy of its own. */
const NOT_OPTED_IN = 'loyalty';

const startedAt = Date.now();
const cp: ControlPlane = await startControlPlane();
t.teardown(() => cp.stop());
t.comment(`control plane up in ${Date.now() - startedAt} ms, on ${cp.server}`);
t.comment(
  `control plane: ${cp.versions.kubernetes}; ${cp.versions.etcd}; ${cp.versions.kwok}; ${cp.versions.kubectl}`,
);

// ── fixtures ──────────────────────────────────────────────────────────────────────────────

const json = async <T>(args: readonly string[]): Promise<T> =>
  JSON.parse(await cp.kubectl([...args, '-o', 'json'])) as T;

interface Obj {
  metadata: {
    name: string;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown> & { replicas?: number };
  status?: { phase?: string; readyReplicas?: number };
}

const pods = async (ns: string, app: string) =>
  (await json<{ items: Obj[] }>(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/name=${app}`])).items;
const runningPods = async (ns: string, app: string) =>
  (await pods(ns, app)).filter((p) => p.status?.phase === 'Running').map((p) => p.metadata.name);
const policy = (ns: string, name: string) => json<Obj>(['-n', ns, 'get', 'networkpolicy', name]);
const versionsOf = async (ns: string, kind: string) =>
  Object.fromEntries(
    (await json<{ items: Obj[] }>(['-n', ns, 'get', kind])).items.map((o) => [
      o.metadata.name,
      o.metadata.resourceVersion,
    ]),
  );

/** A Deployment of two kwok pods; `optedIn` adds the chaos label to it and its pods. */
function deployment(ns: string, name: string, optedIn: boolean) {
  const chaos: Record<string, string> = optedIn ? { 'cloudcafe.io/chaos': 'allowed' } : {};
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'cloudcafe', ...chaos };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          // what the namespace's `restricted` Pod Security admission demands (namespace.yaml);
          // without it the API refuses the ReplicaSet's pods
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name,
              image: `cloudcafe/${name}:lab`,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

function ownPolicy(ns: string, name: string) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns, labels: { 'app.kubernetes.io/name': name } },
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': name } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'cloudcafe' } } }] }],
    },
  };
}

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const available = (ns: string, ...names: string[]) =>
  cp.kubectl([
    '-n',
    ns,
    'wait',
    '--for=condition=Available',
    ...names.map((n) => `deployment/${n}`),
    '--timeout=120s',
  ]);

function driverFor(options: Partial<DriverOptions> = {}) {
  return kubernetesDriver({ kubeconfig: cp.kubeconfig, context: CONTEXT, namespace: NAMESPACE, ...options });
}

function context() {
  const journal: { type: string; detail: Record<string, unknown> }[] = [];
  const ctx: InjectContext = {
    durationMs: 1000,
    revertInfo: (info) => journal.push({ type: 'revert-info', detail: { ...info } }),
    record: (type, detail) => journal.push({ type, detail: { ...detail } }),
  };
  return { ctx, journal };
}

/** The requests the driver made (not kubectl's) between two reads of the audit log. */
async function driverCalls<T>(act: () => Promise<T>): Promise<{ result: T; calls: AuditEvent[] }> {
  const before = (await cp.audited()).length;
  const result = await act();
  const calls = (await cp.audited()).slice(before).filter((e) => !e.userAgent?.startsWith('kubectl'));
  return { result, calls };
}
const writes = (calls: AuditEvent[]) => calls.filter((c) => !['get', 'list', 'watch'].includes(c.verb));

// ── the project's manifests ───────────────────────────────────────────────────────────────

const OVERLAY = join(REPO_ROOT, 'platforms/kubernetes/manifests/overlays/kubernetes');
const SWEEPER_DOCKERFILE = 'platforms/kubernetes/image/sweeper.Dockerfile';

t.test("the project's manifests pass a server-side dry run, then apply and become Available", async (t) => {
  // Prepare: the namespace and the secrets an operator creates first (docs/deploy.md); a
  // server-side dry run cannot place namespaced objects in a namespace that does not exist yet
  await cp.kubectl([
    'apply',
    '--server-side',
    '-f',
    join(REPO_ROOT, 'platforms/kubernetes/manifests/base/namespace.yaml'),
  ]);
  for (const svc of ['inventory', 'menu']) {
    await cp.kubectl([
      '-n',
      NAMESPACE,
      'create',
      'secret',
      'generic',
      `cloudcafe-${svc}-secrets`,
      '--from-literal=ADMIN_TOKEN=test-admin-token',
      '--from-literal=REDIS_AUTH_TOKEN=test-redis-token',
    ]);
  }

  // Act
  const dryRun = await cp.kubectl(['apply', '--server-side', '--dry-run=server', '-k', OVERLAY]);
  const afterDryRun = await json<{ items: Obj[] }>(['-n', NAMESPACE, 'get', 'deployments']);
  const applied = await cp.kubectl(['apply', '--server-side', '-k', OVERLAY]);
  await available(NAMESPACE, 'inventory', 'menu');

  // Assess
  t.match(dryRun, /deployment\.apps\/inventory serverside-applied \(server dry run\)/);
  t.match(dryRun, /networkpolicy\.networking\.k8s\.io\/default-deny serverside-applied \(server dry run\)/);
  t.equal(afterDryRun.items.length, 0, 'the dry run created nothing');
  t.match(applied, /deployment\.apps\/menu serverside-applied/);
  t.same((await runningPods(NAMESPACE, 'inventory')).length, 2, 'inventory: 2 pods Running on the kwok node');
  t.same((await runningPods(NAMESPACE, 'menu')).length, 2, 'menu: 2 pods Running on the kwok node');
});

t.test(
  'fixtures: a workload that did not opt in, and an opted-in one in a namespace without policies',
  async (t) => {
    // Prepare
    const items = [
      deployment(NAMESPACE, NOT_OPTED_IN, false),
      ownPolicy(NAMESPACE, NOT_OPTED_IN),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: BARE_NAMESPACE } },
      deployment(BARE_NAMESPACE, 'inventory', true),
    ];

    // Act
    await cp.kubectl(['apply', '--server-side', '-f', '-'], list(items.slice(0, 3)));
    await cp.kubectl(['apply', '--server-side', '-f', '-'], list(items.slice(3)));
    await available(NAMESPACE, NOT_OPTED_IN);
    await available(BARE_NAMESPACE, 'inventory');

    // Assess
    t.equal((await runningPods(NAMESPACE, NOT_OPTED_IN)).length, 2);
    t.equal((await runningPods(BARE_NAMESPACE, 'inventory')).length, 2);
  },
);

// ── kill ──────────────────────────────────────────────────────────────────────────────────

t.test(
  'kill deletes half the ready opted-in pods; the Deployment replaces them with Running pods',
  async (t) => {
    // Prepare
    const before = await runningPods(NAMESPACE, 'inventory');
    const menuBefore = await runningPods(NAMESPACE, 'menu');
    const { ctx, journal } = context();
    const driver = driverFor();

    // Act
    const { result: effect, calls } = await driverCalls(async () => {
      const active = await driver.inject({ type: 'kill', process: 'inventory' }, 'cloudcafe-run-0', ctx);
      return active.verify();
    });

    // Assess
    const list = calls.find((c) => c.verb === 'list' && c.objectRef?.resource === 'pods');
    t.equal(
      new URL(list?.requestURI ?? '/', 'https://x').searchParams.get('labelSelector'),
      'app.kubernetes.io/name=inventory,cloudcafe.io/chaos=allowed',
      'pods are selected by name AND the chaos opt-in label',
    );
    const deleted = writes(calls);
    t.same(
      deleted.map((c) => [c.verb, c.objectRef?.resource, c.responseStatus?.code]),
      [['delete', 'pods', 200]],
      'the default blast radius (50%) deletes 1 of 2',
    );
    t.match(deleted[0]?.requestObject, { kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    t.ok(before.includes(deleted[0]?.objectRef?.name ?? ''), 'a pod that was Running');
    t.ok(effect.verified, effect.detail);
    const after = await runningPods(NAMESPACE, 'inventory');
    t.equal(after.length, 2, 'as many Running pods as before');
    t.notOk(after.includes(deleted[0]?.objectRef?.name ?? ''), 'the deleted pod is gone');
    t.equal(after.filter((n) => !before.includes(n)).length, 1, 'one of them is a replacement');
    t.same(await runningPods(NAMESPACE, 'menu'), menuBefore, 'menu untouched');
    t.same(journal.find((j) => j.type === 'revert-info')?.detail.deletedPods, [deleted[0]?.objectRef?.name]);
  },
);

t.test('kill honours --max-pods as a count: 2 deletes both, and both are replaced', async (t) => {
  // Prepare
  const before = await runningPods(NAMESPACE, 'menu');
  const driver = driverFor({ maxPods: '2' });

  // Act
  const { result: effect, calls } = await driverCalls(async () =>
    (await driver.inject({ type: 'kill', process: 'menu' }, 'cloudcafe-run-0', context().ctx)).verify(),
  );

  // Assess
  t.equal(writes(calls).length, 2);
  t.ok(effect.verified, effect.detail);
  const after = await runningPods(NAMESPACE, 'menu');
  t.equal(after.length, 2);
  t.notOk(
    after.some((n) => before.includes(n)),
    'none of the old pods is left',
  );
});

// ── pause ─────────────────────────────────────────────────────────────────────────────────

t.test('pause scales to zero, journals the replicas first, and restores exactly 2', async (t) => {
  // Prepare
  const { ctx, journal } = context();
  const driver = driverFor();

  // Act
  const active = await driver.inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-run-0', ctx);
  const effect = await active.verify();
  const whilePaused = await pods(NAMESPACE, 'inventory');
  const scaleWhilePaused = await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'inventory']);
  const { result: revert, calls } = await driverCalls(() => active.revert());

  // Assess
  t.same(journal[0]?.detail, {
    platform: 'kubernetes',
    namespace: NAMESPACE,
    deployment: 'inventory',
    replicas: 2,
  });
  t.ok(effect.verified, effect.detail);
  t.equal(whilePaused.length, 0, 'no inventory pod exists while paused');
  t.equal(scaleWhilePaused.spec?.replicas, 0);
  t.same(
    writes(calls).map((c) => [c.verb, c.objectRef?.resource, c.requestObject]),
    [
      ['patch', 'deployments', { spec: { replicas: 2 } }],
      ['patch', 'deployments', { metadata: { annotations: { 'cloudcafe.io/fault': null } } }],
    ],
    'a merge patch of the scale subresource, then one taking the fault mark off',
  );
  t.same(
    JSON.parse(scaleWhilePaused.metadata.annotations?.['cloudcafe.io/fault'] ?? '{}').replicas,
    2,
    'while paused, the Deployment itself records the replicas to restore',
  );
  t.ok(revert.verified, revert.detail);
  const restored = await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'inventory']);
  t.equal(restored.spec?.replicas, 2, 'replicas restored');
  t.equal(restored.status?.readyReplicas, 2, 'readiness regained at the exact previous count');
  t.equal((await runningPods(NAMESPACE, 'inventory')).length, 2);
});

t.test('undo from a crashed run restores the journalled replicas', async (t) => {
  // Prepare: a run scaled menu to zero and died before its revert
  const { ctx, journal } = context();
  const driver = driverFor();
  await driver.inject({ type: 'pause', process: 'menu' }, 'cloudcafe-run-0', ctx);

  // Act
  const effect = await driverFor().undo?.({
    name: 'pause menu',
    spec: { type: 'pause', process: 'menu' },
    tag: 'cloudcafe-run-0',
    revertInfo: journal.find((j) => j.type === 'revert-info')?.detail,
  });

  // Assess
  t.ok(effect?.verified, effect?.detail ?? 'no effect reported');
  t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'menu'])).spec?.replicas, 2);
  t.equal((await runningPods(NAMESPACE, 'menu')).length, 2);
});

t.test('`cloudcafe experiment revert` scales a crashed run’s paused Deployment back', async (t) => {
  // Prepare: what a run killed mid-pause leaves: inventory at 0, and its journal
  await cp.kubectl(['-n', NAMESPACE, 'scale', 'deployment/inventory', '--replicas=0']);
  const file = crashedJournal('kubernetes', [
    {
      type: 'fault.injecting',
      fault: 'pause',
      spec: { type: 'pause', process: 'inventory' },
      tag: 'cloudcafe-crashed-0',
    },
    {
      type: 'fault.revert-info',
      fault: 'pause',
      revert: { platform: 'kubernetes', namespace: NAMESPACE, deployment: 'inventory', replicas: 2 },
    },
  ]);

  // Act
  const run = await revertCli(file, '--kubeconfig', cp.kubeconfig, '--context', CONTEXT);

  // Assess
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /✓ pause "pause"/);
  t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'inventory'])).spec?.replicas, 2);
  t.equal((await runningPods(NAMESPACE, 'inventory')).length, 2);
});

// ── faults the cluster records: marks, deadlines, halt ───────────────────────────────────

const markOn = async (kind: string, name: string) => {
  const raw = (await json<Obj>(['-n', NAMESPACE, 'get', kind, name])).metadata.annotations?.[
    'cloudcafe.io/fault'
  ];
  return raw ? (JSON.parse(raw) as { tag: string; until: string; replicas?: number }) : undefined;
};

/** The CLI in a process of its own, pointed at the test's control plane. */
const cliOnCluster = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'npx',
      ['cloudcafe', ...args, '--platform', 'kubernetes', '--kubeconfig', cp.kubeconfig, '--context', CONTEXT],
      { cwd: REPO_ROOT, env: process.env, timeout: 300_000 },
      (error, stdout, stderr) => resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

t.test(
  "a dead run's pause and partition are found on the cluster by their marks and undone past their deadline",
  async (t) => {
    // Prepare: a run paused menu and narrowed inventory's policy, then died: no revert, and
    // no journal on this machine
    const original = await policy(NAMESPACE, 'inventory');
    const { ctx } = context();
    await driverFor().inject({ type: 'pause', process: 'menu' }, 'cloudcafe-dead-0', ctx);
    await driverFor().inject({ type: 'partition', link: 'menu-to-inventory' }, 'cloudcafe-dead-1', ctx);
    const mark = await markOn('deployment', 'menu');

    // Act
    const early = await driverFor().sweep?.({ expiredOnly: true });
    while (Date.now() <= Date.parse(mark?.until ?? '')) await new Promise((r) => setTimeout(r, 250));
    const run = await cliOnCluster('experiment', 'revert', '--expired');

    // Assess
    t.same({ tag: mark?.tag, replicas: mark?.replicas }, { tag: 'cloudcafe-dead-0', replicas: 2 });
    t.same(
      early?.filter((f) => f.tag.startsWith('cloudcafe-dead')),
      [],
      'nothing is owed before the deadline, and nothing is undone',
    );
    t.equal(run.status, 0, run.stderr);
    t.match(run.stdout, /✓ cloudcafe-dead-0 on deployment cloudcafe\/menu/);
    t.match(run.stdout, /✓ cloudcafe-dead-1 on networkpolicy cloudcafe\/inventory/);
    t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'menu'])).spec?.replicas, 2);
    t.equal((await runningPods(NAMESPACE, 'menu')).length, 2);
    t.same((await policy(NAMESPACE, 'inventory')).spec, original.spec, 'the policy is exactly as it was');
    t.equal(await markOn('deployment', 'menu'), undefined, 'no mark left on the Deployment');
    t.equal(await markOn('networkpolicy', 'inventory'), undefined, 'nor on the policy');
  },
);

t.test('`cloudcafe halt --platform kubernetes` undoes a fault long before its deadline', async (t) => {
  // Prepare: a ten-minute pause whose run died at once
  await driverFor().inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-halted-0', {
    ...context().ctx,
    durationMs: 600_000,
  });
  t.teardown(() => cliOnCluster('halt', '--release'));

  // Act
  const run = await cliOnCluster('halt');

  // Assess
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /✓ cloudcafe-halted-0 on deployment cloudcafe\/inventory/);
  t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'inventory'])).spec?.replicas, 2);
  t.equal(await markOn('deployment', 'inventory'), undefined, 'its mark is gone');
});

// ── the in-cluster sweeper ────────────────────────────────────────────────────────────────

/** The sweeper as its image runs it: the Dockerfile's steps in a clean folder, once. */
let sweeperImage: ImageFolder | undefined;
t.teardown(() => sweeperImage?.remove());

/** One sweep, run by the image's CMD with the sweeper ServiceAccount's own token. */
async function sweeperRun(namespace: string) {
  sweeperImage ??= buildImageFolder(SWEEPER_DOCKERFILE);
  const [command, ...args] = sweeperImage.steps.cmd;
  const kubeconfig = await cp.kubeconfigAs(NAMESPACE, FAULT_SWEEPER.name);
  return new Promise<{ status: number; lines: Record<string, unknown>[]; stderr: string }>((resolve) => {
    execFile(
      command as string,
      args,
      {
        cwd: sweeperImage?.dir,
        env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAMESPACE: namespace },
        timeout: 300_000,
      },
      (error, stdout, stderr) =>
        resolve({
          status: error ? Number(error.code ?? 1) : 0,
          lines: stdout
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as Record<string, unknown>),
          stderr,
        }),
    );
  });
}

t.test(
  "the fault sweeper's image, as its ServiceAccount, undoes what is past its deadline and nothing else",
  async (t) => {
    // Prepare: a run paused menu and narrowed inventory's policy for a second, and also paused
    // inventory for ten minutes, then died; the cluster has only the marks
    const original = await policy(NAMESPACE, 'inventory');
    await driverFor().inject({ type: 'pause', process: 'menu' }, 'cloudcafe-swept-0', context().ctx);
    await driverFor().inject(
      { type: 'partition', link: 'menu-to-inventory' },
      'cloudcafe-swept-1',
      context().ctx,
    );
    await driverFor().inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-swept-2', {
      ...context().ctx,
      durationMs: 600_000,
    });
    t.teardown(() => driverFor().sweep?.({ expiredOnly: false }));
    const mark = await markOn('deployment', 'menu');
    while (Date.now() <= Date.parse(mark?.until ?? '')) await new Promise((r) => setTimeout(r, 250));

    // Act
    const run = await sweeperRun(NAMESPACE);

    // Assess
    t.equal(run.status, 0, run.stderr);
    const undone = run.lines.filter((l) => l.msg === 'fault undone past its deadline');
    t.same(
      undone.map((l) => [l.tag, l.resource]).sort(),
      [
        ['cloudcafe-swept-0', 'deployment cloudcafe/menu'],
        ['cloudcafe-swept-1', 'networkpolicy cloudcafe/inventory'],
      ],
      'one JSON line per fault undone, and the ten-minute pause is not among them',
    );
    t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'menu'])).spec?.replicas, 2);
    t.equal(await markOn('deployment', 'menu'), undefined, 'no mark left on menu');
    t.same((await policy(NAMESPACE, 'inventory')).spec, original.spec, 'the policy is exactly as it was');
    t.equal((await json<Obj>(['-n', NAMESPACE, 'get', 'deployment', 'inventory'])).spec?.replicas, 0);
    t.equal((await markOn('deployment', 'inventory'))?.tag, 'cloudcafe-swept-2', 'its mark stays');
    t.match(
      await cp.kubectl([
        '-n',
        NAMESPACE,
        'get',
        'cronjob',
        FAULT_SWEEPER.name,
        '-o',
        'jsonpath={.spec.schedule}',
      ]),
      '* * * * *',
      'the CronJob that runs it every minute is on the cluster',
    );
  },
);

t.test("the sweeper's account reaches its own namespace only: elsewhere it is refused", async (t) => {
  // Prepare: an expired pause in a namespace the sweeper's Role does not cover
  const bare = driverFor({ namespace: BARE_NAMESPACE });
  await bare.inject({ type: 'pause', process: 'inventory' }, 'cloudcafe-elsewhere-0', context().ctx);
  t.teardown(() => bare.sweep?.({ expiredOnly: false }));
  const until = (await bare.sweep?.({ expiredOnly: false, dryRun: true }))?.[0]?.until ?? '';
  while (Date.now() <= Date.parse(until)) await new Promise((r) => setTimeout(r, 250));

  // Act
  const run = await sweeperRun(BARE_NAMESPACE);

  // Assess
  t.equal(run.status, 2, 'the sweep itself failed');
  t.match(run.lines.at(-1), { msg: 'sweep failed', error: /403 Forbidden/ });
  t.equal((await json<Obj>(['-n', BARE_NAMESPACE, 'get', 'deployment', 'inventory'])).spec?.replicas, 0);
});

// ── the opt-in label ──────────────────────────────────────────────────────────────────────

t.test('a workload without cloudcafe.io/chaos=allowed is refused, and nothing is written', async (t) => {
  // Prepare
  const podsBefore = await runningPods(NAMESPACE, NOT_OPTED_IN);
  const deploymentsBefore = await versionsOf(NAMESPACE, 'deployments');
  const policiesBefore = await versionsOf(NAMESPACE, 'networkpolicies');
  const driver = driverFor();

  // Act
  const { calls } = await driverCalls(async () => {
    await t.rejects(
      driver.inject({ type: 'pause', process: NOT_OPTED_IN }, 'cloudcafe-run-0', context().ctx),
      /not labelled cloudcafe\.io\/chaos=allowed/,
    );
    await t.rejects(
      driver.inject({ type: 'kill', process: NOT_OPTED_IN }, 'cloudcafe-run-1', context().ctx),
      /no ready pod matches/,
    );
    await t.rejects(
      driver.inject(
        { type: 'partition', link: `order-to-${NOT_OPTED_IN}` },
        'cloudcafe-run-2',
        context().ctx,
      ),
      /not labelled cloudcafe\.io\/chaos=allowed/,
    );
  });

  // Assess
  t.ok(calls.length > 0, 'the driver did ask the API');
  t.same(writes(calls), [], 'no write reached the API');
  t.same(await runningPods(NAMESPACE, NOT_OPTED_IN), podsBefore, 'its pods are the same pods');
  t.same(await versionsOf(NAMESPACE, 'deployments'), deploymentsBefore, 'no Deployment changed');
  t.same(await versionsOf(NAMESPACE, 'networkpolicies'), policiesBefore, 'no NetworkPolicy changed');
});

// ── partition ─────────────────────────────────────────────────────────────────────────────

t.test(
  "partition narrows inventory's own policy to exclude menu, touches no other, and puts it back",
  async (t) => {
    // Prepare
    const original = await policy(NAMESPACE, 'inventory');
    const othersBefore = await versionsOf(NAMESPACE, 'networkpolicies');
    delete othersBefore.inventory;
    const { ctx, journal } = context();
    const driver = driverFor();

    // Act
    const active = await driver.inject(
      { type: 'partition', link: 'menu-to-inventory' },
      'cloudcafe-run-0',
      ctx,
    );
    const effect = await active.verify();
    const during = await policy(NAMESPACE, 'inventory');
    const othersDuring = await versionsOf(NAMESPACE, 'networkpolicies');
    const revert = await active.revert();
    const restored = await policy(NAMESPACE, 'inventory');
    const othersAfter = await versionsOf(NAMESPACE, 'networkpolicies');

    // Assess
    t.ok(effect.verified, effect.detail);
    const notMenu = { key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['menu'] };
    type Ingress = { from: { podSelector: { matchExpressions?: unknown[] } }[] }[];
    const peers = (during.spec?.ingress as Ingress | undefined)?.[0]?.from ?? [];
    t.equal(peers.length, 2, 'both peers of the rule are kept');
    t.ok(
      peers.every((p) => JSON.stringify(p.podSelector.matchExpressions) === JSON.stringify([notMenu])),
      'every peer now leaves menu pods out (as stored by the API server)',
    );
    t.ok(revert.verified, revert.detail);
    t.same(restored.spec, original.spec, 'the policy is exactly as it was');
    for (const [name, version] of Object.entries(othersBefore)) {
      t.equal(othersDuring[name], version, `${name} untouched during the fault`);
      t.equal(othersAfter[name], version, `${name} untouched after it`);
    }
    t.ok(NOT_OPTED_IN in othersBefore, `the policy of ${NOT_OPTED_IN} (not opted in) is among them`);
    t.same(
      (journal[0]?.detail.policies as Obj[] | undefined)?.map((p) => p.metadata.name),
      ['inventory'],
      'the journal holds the one policy changed, as it was',
    );
  },
);

t.test('partition with no policy on the target creates one named by the tag and deletes it', async (t) => {
  // Prepare
  const driver = driverFor({ namespace: BARE_NAMESPACE });

  // Act
  const active = await driver.inject(
    { type: 'partition', link: 'menu-to-inventory' },
    'cloudcafe-run-0',
    context().ctx,
  );
  const effect = await active.verify();
  const during = await versionsOf(BARE_NAMESPACE, 'networkpolicies');
  await active.revert();
  const after = await versionsOf(BARE_NAMESPACE, 'networkpolicies');

  // Assess
  t.ok(effect.verified, effect.detail);
  t.same(Object.keys(during), ['cloudcafe-run-0'], 'created, named by the tag');
  t.same(after, {}, 'removed on revert');
});

t.test(
  'partition refuses a namespace-wide allow policy rather than touch workloads that did not opt in',
  async (t) => {
    // Prepare: a policy admitting every CloudCafe pod to every pod of the namespace
    const wide = {
      ...ownPolicy(NAMESPACE, 'allow-all-cloudcafe'),
      spec: { ...ownPolicy(NAMESPACE, 'x').spec, podSelector: {} },
    };
    await cp.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(wide));
    t.teardown(() => cp.kubectl(['-n', NAMESPACE, 'delete', 'networkpolicy', 'allow-all-cloudcafe']));
    const before = await versionsOf(NAMESPACE, 'networkpolicies');

    // Act
    const { calls } = await driverCalls(() =>
      t.rejects(
        driverFor().inject(
          { type: 'partition', link: 'menu-to-inventory' },
          'cloudcafe-run-0',
          context().ctx,
        ),
        /allow-all-cloudcafe admits traffic to inventory but selects more than inventory's pods/,
      ),
    );

    // Assess
    t.same(writes(calls), [], 'no write reached the API');
    t.same(await versionsOf(NAMESPACE, 'networkpolicies'), before);
  },
);

// ── drift certificate ─────────────────────────────────────────────────────────────────────

t.test(
  'drift: a reverted pause leaves none; a workload left scaled down and a planted policy are named',
  async (t) => {
    // Prepare
    const driver = driverFor();
    const before = await snapshotOf(driver);
    const active = await driver.inject(
      { type: 'pause', process: 'inventory' },
      'cloudcafe-drift-0',
      context().ctx,
    );
    await active.verify();
    await active.revert();
    const afterClean = await snapshotOf(driver);

    // Act: what a careless run leaves: menu paused and never reverted, a policy of its own
    await driver.inject({ type: 'pause', process: 'menu' }, 'cloudcafe-drift-1', context().ctx);
    await cp.kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify(ownPolicy(NAMESPACE, 'drift-leftover')),
    );
    t.teardown(async () => {
      await cp.kubectl(['-n', NAMESPACE, 'delete', 'networkpolicy', 'drift-leftover']).catch(() => '');
      await driver.sweep?.({ expiredOnly: false }); // menu back to 2 replicas, its mark removed
      await available(NAMESPACE, 'menu');
    });
    const drift = driftOf(before, await snapshotOf(driver));

    // Assess
    t.same(driftOf(before, afterClean), { certified: true, entries: [] }, 'handed back as found');
    t.same(
      // a policy's spec by its first characters, a mark by its tag (its deadline moves)
      drift.entries.map((e) => [
        e.what,
        e.before,
        e.after?.startsWith('{') ? e.after.slice(0, 16) : e.after?.split(' until ')[0],
      ]),
      [
        ['deployment menu', 'replicas=2', 'replicas=0'],
        ['fault mark deployment menu', undefined, 'cloudcafe-drift-1'],
        ['networkpolicy drift-leftover', undefined, '{"podSelector":{'],
      ],
    );
  },
);
