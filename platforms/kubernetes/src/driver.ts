import type {
  ActiveFault,
  Driver,
  DriverOptions,
  Effect,
  Fault,
  InjectContext,
  JournalledFault,
  SweptFault,
} from '@cloudcafe/chaos-interface';
import { CHAOS_LABEL, K8S_NAMESPACE } from '@cloudcafe/contracts';
import {
  type Deployment,
  formatCall,
  isReady,
  type KubeCall,
  KubeClient,
  type NetworkPolicy,
  type NetworkPolicyList,
  type NetworkPolicyPeer,
  type PodList,
  type Scale,
  selectorOf,
} from './api.js';
import { type FaultMark, isExpired, markCalls, markOf, withMark } from './marks.js';
import { kubernetesSnapshot } from './snapshot.js';

/**
 * The kubernetes driver: faults through the Kubernetes API, on workloads that opted in with the
 * label `cloudcafe.io/chaos=allowed` and nothing else. A process `inventory` is the Deployment
 * `inventory`, its pods are `app.kubernetes.io/name=inventory` (platforms/kubernetes/manifests/base).
 *
 * - kill: delete at most the blast radius of the ready pods; verified when the Deployment has
 *   replaced them (new pods ready, as many as before).
 * - pause: scale the Deployment to zero, restore the exact previous replicas; verified by the
 *   pods being gone, and on revert by readiness regained.
 * - partition `a-to-b`: NetworkPolicies only ever allow, so a second policy cannot deny what b's
 *   own policy admits. The driver narrows every policy selecting b's pods that admits anything
 *   so its peers exclude `a`'s pods (or adds one, named by the fault's tag, when no policy
 *   selects them) and puts each policy back exactly on revert. It refuses a policy that admits
 *   traffic to b but selects more than b's pods: narrowing that would change workloads that
 *   did not opt in.
 * - latency is refused: on Kubernetes it is a fault flag in the caller, not an API call.
 */

export { CHAOS_LABEL };
export const NAME_LABEL = 'app.kubernetes.io/name';
export const DEFAULT_NAMESPACE = K8S_NAMESPACE;
/** Half the ready pods: a kill that takes everything tests nothing but an outage. */
export const DEFAULT_MAX_PODS = '50%';

const READY_TIMEOUT_MS = 120_000;
/** How long past its duration a fault's mark waits for the run's own revert before it is owed. */
const DEADLINE_GRACE_MS = 5000;
const POLL_MS = 500;

interface Settings {
  readonly namespace: string;
  readonly maxPods: string;
}

const settingsOf = (options: DriverOptions): Settings => ({
  namespace: options.namespace ?? DEFAULT_NAMESPACE,
  maxPods: options.maxPods ?? DEFAULT_MAX_PODS,
});

/** How many of `ready` pods a fault may touch: `2` or `50%`, never less than one. */
export function blastRadius(maxPods: string, ready: number): number {
  const match = /^([0-9]+)(%?)$/.exec(maxPods);
  if (!match?.[1]) throw new Error(`--max-pods must be a count (2) or a percentage (50%), not ${maxPods}`);
  const n = Number(match[1]);
  const limit = match[2] === '%' ? Math.floor((ready * n) / 100) : n;
  return Math.max(1, Math.min(ready, limit));
}

// ── the calls, as data ────────────────────────────────────────────────────────────────────

const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
const policiesPath = (ns: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`;

export const calls = {
  listPods: (ns: string, labels: Readonly<Record<string, string>>): KubeCall => ({
    method: 'GET',
    path: `${podsPath(ns)}?labelSelector=${encodeURIComponent(selectorOf(labels))}`,
  }),
  deletePod: (ns: string, name: string): KubeCall => ({
    method: 'DELETE',
    path: `${podsPath(ns)}/${name}`,
    // No grace: a kill is abrupt, as a crashed node or OOM kill is.
    body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
  }),
  getDeployment: (ns: string, name: string): KubeCall => ({ method: 'GET', path: deploymentPath(ns, name) }),
  getScale: (ns: string, name: string): KubeCall => ({
    method: 'GET',
    path: `${deploymentPath(ns, name)}/scale`,
  }),
  patchScale: (ns: string, name: string, replicas: number): KubeCall => ({
    method: 'PATCH',
    path: `${deploymentPath(ns, name)}/scale`,
    contentType: 'application/merge-patch+json',
    body: { spec: { replicas } },
  }),
  listPolicies: (ns: string): KubeCall => ({ method: 'GET', path: policiesPath(ns) }),
  replacePolicy: (ns: string, policy: NetworkPolicy): KubeCall => ({
    method: 'PUT',
    path: `${policiesPath(ns)}/${policy.metadata.name}`,
    body: policy,
  }),
  createPolicy: (ns: string, policy: NetworkPolicy): KubeCall => ({
    method: 'POST',
    path: policiesPath(ns),
    body: policy,
  }),
  deletePolicy: (ns: string, name: string): KubeCall => ({
    method: 'DELETE',
    path: `${policiesPath(ns)}/${name}`,
  }),
} as const;

const podLabels = (service: string) => ({ [NAME_LABEL]: service, [CHAOS_LABEL.key]: CHAOS_LABEL.value });

function linkEnds(link: string): { from: string; to: string } {
  const [from, to] = link.split('-to-');
  if (!from || !to) throw new Error(`not a link: ${link}`);
  return { from, to };
}

/** A peer narrowed so it no longer matches the caller's pods. */
function excluding(peer: NetworkPolicyPeer, from: string): NetworkPolicyPeer {
  if (peer.ipBlock) return peer;
  const podSelector = peer.podSelector ?? {};
  return {
    ...peer,
    podSelector: {
      ...podSelector,
      matchExpressions: [
        ...(podSelector.matchExpressions ?? []),
        { key: NAME_LABEL, operator: 'NotIn', values: [from] },
      ],
    },
  };
}

/** The policy with every ingress peer narrowed; a rule open to all becomes open to all but `from`. */
export function denyingPolicy(policy: NetworkPolicy, from: string): NetworkPolicy {
  const { resourceVersion: _rv, ...metadata } = policy.metadata;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      ...policy.spec,
      ingress: (policy.spec.ingress ?? []).map((rule) => ({
        ...rule,
        from: (rule.from && rule.from.length > 0 ? rule.from : [{ namespaceSelector: {} }]).map((p) =>
          excluding(p, from),
        ),
      })),
    },
  };
}

/** When no policy selects the target yet: admit every pod but the caller's. */
export function newDenyPolicy(ns: string, tag: string, targetLabels: Record<string, string>, from: string) {
  return denyingPolicy(
    {
      metadata: { name: tag, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'cloudcafe-chaos' } },
      spec: {
        podSelector: { matchLabels: targetLabels },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {} }] }],
      },
    },
    from,
  );
}

const selects = (policy: NetworkPolicy, labels: Readonly<Record<string, string>>) =>
  (policy.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
  Object.entries(policy.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

// ── the faults ────────────────────────────────────────────────────────────────────────────

/**
 * A fault's deadline as its mark records it: its duration and a grace for the run's own revert
 * to come first (a minute when the runner gave no duration).
 */
const deadline = (ctx: InjectContext | undefined): string =>
  new Date(Date.now() + (ctx?.durationMs ?? 60_000) + DEADLINE_GRACE_MS).toISOString();

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${what}: not seen within ${timeoutMs / 1000} s`);
}

/** Refuses a Deployment that did not opt in: the label is the only licence the driver accepts. */
async function optedIn(client: KubeClient, ns: string, name: string): Promise<Deployment> {
  const deployment = await client.send<Deployment>(calls.getDeployment(ns, name));
  if (deployment.metadata.labels?.[CHAOS_LABEL.key] !== CHAOS_LABEL.value) {
    throw new Error(
      `deployment ${ns}/${name} is not labelled ${CHAOS_LABEL.key}=${CHAOS_LABEL.value}; the driver only touches workloads that opted in`,
    );
  }
  return deployment;
}

async function killFault(
  client: KubeClient,
  s: Settings,
  fault: Extract<Fault, { type: 'kill' }>,
  ctx: InjectContext | undefined,
): Promise<ActiveFault> {
  const labels = podLabels(fault.process);
  const before = await client.send<PodList>(calls.listPods(s.namespace, labels));
  const ready = before.items.filter(isReady);
  if (ready.length === 0) throw new Error(`no ready pod matches ${selectorOf(labels)} in ${s.namespace}`);
  const victims = ready.slice(0, blastRadius(s.maxPods, ready.length)).map((p) => p.metadata.name);
  ctx?.revertInfo({ platform: 'kubernetes', namespace: s.namespace, deletedPods: victims, action: 'none' });
  const deletedAt = Date.now();
  for (const name of victims) await client.send(calls.deletePod(s.namespace, name));
  const readyNow = async () =>
    (await client.send<PodList>(calls.listPods(s.namespace, labels))).items.filter(isReady);
  return {
    fault,
    revertPlan: `none needed: the Deployment replaces ${victims.join(', ')}`,
    async verify(): Promise<Effect> {
      try {
        let replacements: string[] = [];
        await until(`${fault.process} pods replaced`, async () => {
          const now = await readyNow();
          const before = ready.map((p) => p.metadata.name);
          replacements = now.map((p) => p.metadata.name).filter((n) => !before.includes(n));
          return now.length >= ready.length && now.every((p) => !victims.includes(p.metadata.name));
        });
        return {
          verified: true,
          detail: `deleted ${victims.join(', ')} (${victims.length} of ${ready.length}); replaced by ${replacements.join(', ')}, ready after ${Date.now() - deletedAt} ms`,
        };
      } catch (e) {
        return { verified: false, detail: `deleted ${victims.join(', ')}; ${(e as Error).message}` };
      }
    },
    async revert(): Promise<Effect> {
      const now = await readyNow();
      return {
        verified: now.length >= ready.length,
        detail: `${now.length} of ${ready.length} ${fault.process} pods ready`,
      };
    },
  };
}

async function restoreReplicas(
  client: KubeClient,
  ns: string,
  name: string,
  replicas: number,
): Promise<Effect> {
  await client.send(calls.patchScale(ns, name, replicas));
  // the mark goes once the replicas are asked back: the cluster no longer owes this fault
  await client.send(markCalls.unmarkDeployment(ns, name));
  try {
    const ms = await until(`${name} ready again`, async () => {
      const d = await client.send<Deployment>(calls.getDeployment(ns, name));
      return (d.status?.readyReplicas ?? 0) >= replicas;
    });
    return { verified: true, detail: `${name} back to ${replicas} replicas, ready after ${ms} ms` };
  } catch (e) {
    return { verified: false, detail: `${name} scaled back to ${replicas}; ${(e as Error).message}` };
  }
}

async function pauseFault(
  client: KubeClient,
  s: Settings,
  fault: Extract<Fault, { type: 'pause' }>,
  tag: string,
  ctx: InjectContext | undefined,
): Promise<ActiveFault> {
  const deployment = await optedIn(client, s.namespace, fault.process);
  const scale = await client.send<Scale>(calls.getScale(s.namespace, fault.process));
  const replicas = scale.spec.replicas ?? 1;
  // journalled and marked on the Deployment before the scale-down: a crash after it must still
  // know the count to restore, here and on the cluster
  ctx?.revertInfo({ platform: 'kubernetes', namespace: s.namespace, deployment: fault.process, replicas });
  await client.send(
    markCalls.markDeployment(s.namespace, fault.process, { tag, until: deadline(ctx), replicas }),
  );
  await client.send(calls.patchScale(s.namespace, fault.process, 0));
  const selector = deployment.spec.selector.matchLabels ?? { [NAME_LABEL]: fault.process };
  let restored: Effect | undefined;
  return {
    fault,
    revertPlan: `PATCH scale of deployment ${s.namespace}/${fault.process} back to ${replicas} replicas`,
    async verify(): Promise<Effect> {
      try {
        const ms = await until(`${fault.process} pods gone`, async () => {
          const pods = await client.send<PodList>(calls.listPods(s.namespace, selector));
          return pods.items.length === 0;
        });
        return { verified: true, detail: `${fault.process} scaled ${replicas} → 0; no pods after ${ms} ms` };
      } catch (e) {
        return { verified: false, detail: `${fault.process} scaled to 0; ${(e as Error).message}` };
      }
    },
    async revert(): Promise<Effect> {
      restored ??= await restoreReplicas(client, s.namespace, fault.process, replicas);
      return restored;
    },
  };
}

/** A policy with no ingress rule admits nothing: there is nothing in it to narrow. */
const admitsIngress = (policy: NetworkPolicy) => (policy.spec.ingress ?? []).length > 0;

/** Whether every ingress peer of the policy already leaves `from`'s pods out. */
const excludesEverywhere = (policy: NetworkPolicy, from: string) =>
  (policy.spec.ingress ?? []).every(
    (rule) =>
      (rule.from ?? []).length > 0 &&
      (rule.from ?? []).every(
        (peer) =>
          peer.ipBlock !== undefined ||
          (peer.podSelector?.matchExpressions ?? []).some(
            (e) => e.key === NAME_LABEL && e.operator === 'NotIn' && e.values?.includes(from),
          ),
      ),
  );

/**
 * The policies a partition must narrow: those selecting the target that admit anything. Each
 * must select the target by name; a wider one (a namespace-wide allow, say) also admits traffic
 * to workloads that did not opt in, and narrowing it would change them too, so it is refused
 * before anything is written.
 */
function policiesToNarrow(selecting: readonly NetworkPolicy[], to: string): NetworkPolicy[] {
  const admitting = selecting.filter(admitsIngress);
  const wide = admitting.filter((p) => p.spec.podSelector.matchLabels?.[NAME_LABEL] !== to);
  if (wide.length > 0) {
    throw new Error(
      `NetworkPolicy ${wide.map((p) => p.metadata.name).join(', ')} admits traffic to ${to} but selects more than ${to}'s pods; narrowing it would touch workloads that did not opt in, so give ${to} a policy of its own`,
    );
  }
  return admitting;
}

async function partitionFault(
  client: KubeClient,
  s: Settings,
  fault: Extract<Fault, { type: 'partition' }>,
  tag: string,
  ctx: InjectContext | undefined,
): Promise<ActiveFault> {
  const { from, to } = linkEnds(fault.link);
  const deployment = await optedIn(client, s.namespace, to);
  const targetLabels = { ...(deployment.spec.template.metadata?.labels ?? { [NAME_LABEL]: to }) };
  const selectingNow = async () =>
    (await client.send<NetworkPolicyList>(calls.listPolicies(s.namespace))).items.filter((p) =>
      selects(p, targetLabels),
    );
  const selecting = await selectingNow();
  const originals = policiesToNarrow(selecting, to);
  // Only a target no policy selects is open to all; one a deny-only policy selects admits
  // nothing already, and a new allow policy would open it up instead of cutting it off.
  const created = selecting.length === 0 ? tag : undefined;
  ctx?.revertInfo({
    platform: 'kubernetes',
    namespace: s.namespace,
    policies: originals,
    createdPolicy: created,
  });
  const until = deadline(ctx);
  if (created) {
    const policy = newDenyPolicy(s.namespace, tag, targetLabels, from);
    await client.send(calls.createPolicy(s.namespace, withMark(policy, { tag, until })));
  }
  for (const p of originals) {
    const { resourceVersion: _rv, ...metadata } = p.metadata;
    const mark = { tag, until, original: { metadata, spec: p.spec } };
    await client.send(calls.replacePolicy(s.namespace, withMark(denyingPolicy(p, from), mark)));
  }
  let reverted: Effect | undefined;
  return {
    fault,
    revertPlan: created
      ? `DELETE NetworkPolicy ${s.namespace}/${created}`
      : `PUT back NetworkPolicies ${originals.map((p) => p.metadata.name).join(', ') || '(none changed)'} as they were`,
    async verify(): Promise<Effect> {
      const now = await selectingNow();
      const open = now.filter((p) => admitsIngress(p) && !excludesEverywhere(p, from));
      return {
        verified: now.length > 0 && open.length === 0,
        detail:
          open.length > 0
            ? `NetworkPolicies ${open.map((p) => p.metadata.name).join(', ')} still admit ${from} pods to ${to}`
            : `NetworkPolicies ${now.map((p) => p.metadata.name).join(', ') || '(none)'} select ${to} and admit no ${from} pod (as read back from the API; the CNI enforces them)`,
      };
    },
    async revert(): Promise<Effect> {
      reverted ??= await undoPartition(client, s.namespace, originals, created);
      return reverted;
    },
  };
}

async function undoPartition(
  client: KubeClient,
  ns: string,
  originals: readonly NetworkPolicy[],
  created: string | undefined,
): Promise<Effect> {
  if (created) await client.send(calls.deletePolicy(ns, created)).catch(() => {});
  for (const p of originals) {
    const { resourceVersion: _rv, ...metadata } = p.metadata;
    await client.send(
      calls.replacePolicy(ns, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata,
        spec: p.spec,
      }),
    );
  }
  const names = [...originals.map((p) => p.metadata.name), ...(created ? [`${created} (deleted)`] : [])];
  return { verified: true, detail: `NetworkPolicies restored: ${names.join(', ')}` };
}

// ── the driver ────────────────────────────────────────────────────────────────────────────

function unsupported(fault: Fault): string | undefined {
  switch (fault.type) {
    case 'kill':
    case 'pause':
    case 'partition':
      return undefined;
    case 'latency':
      return 'latency on Kubernetes is a fault flag in the calling service, which the kubernetes driver does not set yet; run it on local';
    case 'cpu-stress':
    case 'dependency-errors':
      return `${fault.type} on Kubernetes goes through the service's admin endpoint via the API server's service proxy, which the kubernetes driver does not call yet; run it on local`;
    case 'db-failover':
    case 'cache-outage':
    case 'lambda-delay':
    case 'lambda-error':
      return `${fault.type} has no Kubernetes mapping: ${fault.type === 'cache-outage' ? 'Redis' : 'that system'} does not run in the cluster (see the fault table in docs/chaos.md)`;
  }
}

/** The calls a fault makes, in order, for `--dry-run`. Placeholders stand for what is listed first. */
function plan(s: Settings, fault: Fault, tag: string): string[] {
  const ns = s.namespace;
  switch (fault.type) {
    case 'kill':
      return [
        formatCall(calls.listPods(ns, podLabels(fault.process))),
        `then for each of at most ${s.maxPods} of the ready pods listed (at least one):`,
        formatCall(calls.deletePod(ns, '<pod>')),
        `verify: ${formatCall(calls.listPods(ns, podLabels(fault.process)))} until as many pods are ready and none deleted remains`,
      ];
    case 'pause':
      return [
        `${formatCall(calls.getDeployment(ns, fault.process))}   (refused unless labelled ${CHAOS_LABEL.key}=${CHAOS_LABEL.value})`,
        `${formatCall(calls.getScale(ns, fault.process))}   (the replicas to restore, journalled)`,
        formatCall(calls.patchScale(ns, fault.process, 0)),
        `revert: PATCH ${deploymentPath(ns, fault.process)}/scale {"spec":{"replicas":<previous replicas>}}`,
      ];
    case 'partition': {
      const { from, to } = linkEnds(fault.link);
      return [
        formatCall(calls.getDeployment(ns, to)),
        formatCall(calls.listPolicies(ns)),
        `for each policy selecting ${to}'s pods: PUT ${policiesPath(ns)}/<policy> with every ingress peer narrowed by {"key":"${NAME_LABEL}","operator":"NotIn","values":["${from}"]}`,
        `or, when none selects them: ${formatCall(calls.createPolicy(ns, newDenyPolicy(ns, tag, { [NAME_LABEL]: to }, from)))}`,
        `revert: PUT each policy back as listed / DELETE ${policiesPath(ns)}/${tag}`,
      ];
    }
    default:
      return [`refused: ${unsupported(fault)}`];
  }
}

export function kubernetesDriver(options: DriverOptions): Driver {
  const s = settingsOf(options);
  let client: KubeClient | undefined;
  // The kubeconfig is read on first use, never at import or validation time.
  const kube = () => {
    client ??= new KubeClient({
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.context ? { context: options.context } : {}),
    });
    return client;
  };
  return {
    platform: 'kubernetes',
    unsupported,
    plan: (fault, tag) => plan(s, fault, tag),
    snapshot: () => kubernetesSnapshot(kube(), s.namespace),
    async inject(fault, tag, ctx) {
      switch (fault.type) {
        case 'kill':
          return killFault(kube(), s, fault, ctx);
        case 'pause':
          return pauseFault(kube(), s, fault, tag, ctx);
        case 'partition':
          return partitionFault(kube(), s, fault, tag, ctx);
        default:
          throw new Error(unsupported(fault));
      }
    },
    async undo(entry: JournalledFault): Promise<Effect> {
      const info = entry.revertInfo;
      const ns = typeof info?.namespace === 'string' ? info.namespace : s.namespace;
      if (entry.spec.type === 'pause' && typeof info?.replicas === 'number') {
        return restoreReplicas(kube(), ns, entry.spec.process, info.replicas);
      }
      if (entry.spec.type === 'partition' && info) {
        return undoPartition(
          kube(),
          ns,
          (info.policies as NetworkPolicy[] | undefined) ?? [],
          typeof info.createdPolicy === 'string' ? info.createdPolicy : undefined,
        );
      }
      return { verified: true, detail: `${entry.spec.type}: nothing to undo` };
    },
    sweep: (options) => sweep(kube(), s.namespace, options),
  };
}

/**
 * Every fault the cluster records in force (the marks on Deployments and NetworkPolicies of the
 * namespace), undone: all of them, or only those past their deadline. It needs no journal, so it
 * works from any machine with the kubeconfig, after the orchestrator is long gone.
 */
async function sweep(
  client: KubeClient,
  ns: string,
  options: { readonly expiredOnly: boolean; readonly dryRun?: boolean },
): Promise<SweptFault[]> {
  const now = Date.now();
  const owed = (mark: FaultMark | undefined): mark is FaultMark =>
    mark !== undefined && (!options.expiredOnly || isExpired(mark, now));
  const swept: SweptFault[] = [];
  const deployments = await client.send<{ items: Deployment[] }>(markCalls.listDeployments(ns));
  for (const d of deployments.items) {
    const mark = markOf(d.metadata);
    if (!owed(mark) || mark.replicas === undefined) continue;
    const resource = `deployment ${ns}/${d.metadata.name}`;
    swept.push({
      resource,
      tag: mark.tag,
      until: mark.until,
      ...(options.dryRun
        ? {}
        : { effect: await restoreReplicas(client, ns, d.metadata.name, mark.replicas) }),
    });
  }
  const policies = await client.send<NetworkPolicyList>(calls.listPolicies(ns));
  for (const p of policies.items) {
    const mark = markOf(p.metadata);
    if (!owed(mark)) continue;
    const original = mark.original ? [{ ...mark.original }] : [];
    swept.push({
      resource: `networkpolicy ${ns}/${p.metadata.name}`,
      tag: mark.tag,
      until: mark.until,
      ...(options.dryRun
        ? {}
        : {
            effect: await undoPartition(client, ns, original, mark.original ? undefined : p.metadata.name),
          }),
    });
  }
  return swept;
}
