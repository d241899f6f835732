import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * The Kubernetes API calls the driver makes, as data: the same `KubeCall` is printed by
 * `--dry-run` and sent by a real run, so the plan cannot drift from what is done. The cluster,
 * credentials and TLS come from the kubeconfig through `@kubernetes/client-node`.
 */

export interface KubeCall {
  readonly method: 'GET' | 'DELETE' | 'PATCH' | 'PUT' | 'POST';
  /** Path and query, e.g. `/api/v1/namespaces/cloudcafe/pods?labelSelector=…`. */
  readonly path: string;
  readonly body?: unknown;
  /** PATCH needs a patch type; a JSON merge patch is the one that needs no resourceVersion. */
  readonly contentType?: 'application/json' | 'application/merge-patch+json';
}

export function formatCall(call: KubeCall): string {
  return `${call.method} ${call.path}${call.body === undefined ? '' : ` ${JSON.stringify(call.body)}`}`;
}

/** A `Status` answer from the API server, kept whole so messages name the real reason. */
export class KubeError extends Error {
  constructor(
    readonly call: KubeCall,
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${call.method} ${call.path}: ${code} ${reason}: ${message}`);
    this.name = 'KubeError';
  }
}

export interface KubeClientOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export class KubeClient {
  private config: Promise<KubeConfig> | undefined;

  constructor(private readonly options: KubeClientOptions = {}) {}

  /**
   * The kubeconfig, read on the first call. `@kubernetes/client-node` is loaded then too: it
   * takes a second or more to import, and `halt`, `revert` and every other CLI command import
   * this driver whether or not they reach a cluster.
   */
  private kubeconfig(): Promise<KubeConfig> {
    this.config ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const config = new KubeConfig();
      if (this.options.kubeconfig) config.loadFromFile(this.options.kubeconfig);
      else config.loadFromDefault();
      if (this.options.context) config.setCurrentContext(this.options.context);
      return config;
    });
    return this.config;
  }

  async send<T>(call: KubeCall): Promise<T> {
    const config = await this.kubeconfig();
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new Error(`kubeconfig context ${config.getCurrentContext()} names no cluster server`);
    const url = new URL(call.path, server);
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    const options: https.RequestOptions = {
      method: call.method,
      headers: {
        Accept: 'application/json',
        ...(payload === undefined
          ? {}
          : {
              'Content-Type': call.contentType ?? 'application/json',
              'Content-Length': Buffer.byteLength(payload),
            }),
      },
    };
    // Adds the bearer token or client certificate and the cluster CA from the kubeconfig.
    await config.applyToHTTPSOptions(options);
    const transport = url.protocol === 'https:' ? https : http;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = transport.request(url, { ...options, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      req.on('timeout', () => req.destroy(new Error(`${call.method} ${call.path}: no answer within 15 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (status >= 400) {
      throw new KubeError(call, status, String(json.reason ?? 'Unknown'), String(json.message ?? text));
    }
    return json as T;
  }
}

// Just the fields the driver reads, shaped as the API returns them.
export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
  readonly resourceVersion?: string;
}
export interface Pod {
  readonly metadata: ObjectMeta;
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}
export interface PodList {
  readonly items: readonly Pod[];
}
export interface Deployment {
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly replicas?: number;
    readonly selector: { readonly matchLabels?: Readonly<Record<string, string>> };
    readonly template: { readonly metadata?: { readonly labels?: Readonly<Record<string, string>> } };
  };
  readonly status?: { readonly replicas?: number; readonly readyReplicas?: number };
}
export interface Scale {
  readonly metadata: ObjectMeta;
  readonly spec: { readonly replicas?: number };
  readonly status?: { readonly replicas?: number };
}
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: unknown;
}
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}
export interface NetworkPolicy {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly { readonly from?: readonly NetworkPolicyPeer[]; readonly ports?: unknown }[];
    readonly egress?: readonly unknown[];
  };
}
export interface NetworkPolicyList {
  readonly items: readonly NetworkPolicy[];
}

export const isReady = (pod: Pod): boolean =>
  !pod.metadata.deletionTimestamp &&
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** `{a: 'b', c: 'd'}` → `a=b,c=d`, the API's equality-based selector syntax. */
export const selectorOf = (labels: Readonly<Record<string, string>>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
