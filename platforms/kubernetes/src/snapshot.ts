import type { PlatformSnapshot } from '@cloudcafe/chaos-interface';
import type { Deployment, KubeClient, NetworkPolicyList, ObjectMeta } from './api.js';
import { markOf } from './marks.js';

/**
 * What the kubernetes driver can change in its namespace, as the API has it now: every
 * Deployment's desired replicas (a pause scales to zero) and every NetworkPolicy's spec (a
 * partition narrows or adds one). Pods are left out: a kill replaces them by design, and new
 * pod names are not drift.
 *
 * Known limit: fault flags and stress runs behind the services' admin routes are not read
 * here, as the driver does not set them on Kubernetes yet.
 */
export async function kubernetesSnapshot(client: KubeClient, namespace: string): Promise<PlatformSnapshot> {
  const out: Record<string, string> = {};
  const deployments = await client.send<{ items: readonly Deployment[] }>({
    method: 'GET',
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
  });
  const marked = (kind: string, metadata: ObjectMeta) => {
    const mark = markOf(metadata);
    if (mark) out[`fault mark ${kind} ${metadata.name}`] = `${mark.tag} until ${mark.until}`;
  };
  for (const d of deployments.items) {
    out[`deployment ${d.metadata.name}`] = `replicas=${d.spec.replicas ?? 1}`;
    marked('deployment', d.metadata);
  }
  const policies = await client.send<NetworkPolicyList>({
    method: 'GET',
    path: `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`,
  });
  for (const p of policies.items) {
    out[`networkpolicy ${p.metadata.name}`] = JSON.stringify(p.spec);
    marked('networkpolicy', p.metadata);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
