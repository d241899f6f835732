import { FAULT_ANNOTATION } from '@cloudcafe/contracts';
import type { KubeCall, NetworkPolicy, ObjectMeta } from './api.js';

/**
 * A Kubernetes fault's mark on what it changed (the `cloudcafe.io/fault` annotation): which fault,
 * until when, and what undoes it. It is written before or with the change, so the cluster itself
 * knows every fault in force and its deadline — `experiment revert --expired` and `halt` find it
 * there when the orchestrator that injected it is dead and its journal is on another machine.
 */
export interface FaultMark {
  readonly tag: string;
  /** The fault's deadline (ISO 8601): past it, the fault is owed a revert. */
  readonly until: string;
  /** A scaled-down Deployment: the replicas to restore. */
  readonly replicas?: number;
  /** A narrowed NetworkPolicy: the policy as it was; absent on one the fault created. */
  readonly original?: Pick<NetworkPolicy, 'metadata' | 'spec'>;
}

/** The mark an object carries, or undefined when it has none (or one this driver cannot read). */
export function markOf(metadata: ObjectMeta): FaultMark | undefined {
  const raw = metadata.annotations?.[FAULT_ANNOTATION];
  if (!raw) return undefined;
  try {
    const mark = JSON.parse(raw) as FaultMark;
    return typeof mark.tag === 'string' && typeof mark.until === 'string' ? mark : undefined;
  } catch {
    return undefined;
  }
}

export const isExpired = (mark: FaultMark, now: number): boolean => Date.parse(mark.until) <= now;

/** The policy with the mark among its annotations. */
export function withMark(policy: NetworkPolicy, mark: FaultMark): NetworkPolicy {
  return {
    ...policy,
    metadata: {
      ...policy.metadata,
      annotations: { ...policy.metadata.annotations, [FAULT_ANNOTATION]: JSON.stringify(mark) },
    },
  };
}

const deploymentPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

export const markCalls = {
  /** Sets the mark (a JSON merge patch: nothing else of the Deployment changes). */
  markDeployment: (ns: string, name: string, mark: FaultMark): KubeCall => ({
    method: 'PATCH',
    path: deploymentPath(ns, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [FAULT_ANNOTATION]: JSON.stringify(mark) } } },
  }),
  /** Removes the mark: null deletes a key in a merge patch. */
  unmarkDeployment: (ns: string, name: string): KubeCall => ({
    method: 'PATCH',
    path: deploymentPath(ns, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { [FAULT_ANNOTATION]: null } } },
  }),
  listDeployments: (ns: string): KubeCall => ({
    method: 'GET',
    path: `/apis/apps/v1/namespaces/${ns}/deployments`,
  }),
} as const;
