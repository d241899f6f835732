import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A STAND-IN for the Kubernetes API server: no real one can run on these machines (NOTES.md).
 * It checks what the real API checks for the calls the driver makes — paths, verbs, the bearer
 * token, label-selector syntax and matching, DeleteOptions and Scale bodies, the PATCH content
 * type, NetworkPolicy kinds — and answers with real-shaped objects (Pod, PodList, Deployment,
 * Scale, NetworkPolicy, Status). It plays the controllers too, crudely: a deleted pod is
 * replaced by a new one that turns ready after `readyAfterMs`, a scale change adds or removes
 * pods. Its limits: no watch, no resourceVersion conflicts, no admission, no CNI (a
 * NetworkPolicy is stored, never enforced), equality-based selectors only.
 */

export const TOKEN = 'stand-in-token';

interface PodState {
  name: string;
  app: string;
  labels: Record<string, string>;
  ready: boolean;
}

interface DeploymentState {
  name: string;
  labels: Record<string, string>;
  replicas: number;
  podLabels: Record<string, string>;
}

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export class KubeStandIn {
  readonly requests: Recorded[] = [];
  readonly deployments = new Map<string, DeploymentState>();
  readonly pods = new Map<string, PodState>();
  readonly policies = new Map<string, Record<string, unknown>>();
  private server: Server | undefined;
  private counter = 0;

  constructor(
    readonly namespace = 'cloudcafe',
    readonly readyAfterMs = 150,
  ) {}

  addDeployment(name: string, replicas: number, optedIn = true): void {
    const podLabels: Record<string, string> = {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/part-of': 'cloudcafe',
    };
    if (optedIn) podLabels['cloudcafe.io/chaos'] = 'allowed';
    const labels: Record<string, string> = { 'app.kubernetes.io/name': name };
    if (optedIn) labels['cloudcafe.io/chaos'] = 'allowed';
    this.deployments.set(name, { name, labels, replicas, podLabels });
    for (let i = 0; i < replicas; i++) this.newPod(name, true);
  }

  addPolicy(policy: Record<string, unknown>): void {
    const name = (policy.metadata as { name: string }).name;
    this.policies.set(name, {
      ...policy,
      metadata: { ...(policy.metadata as object), resourceVersion: '1' },
    });
  }

  readyPods(app: string): PodState[] {
    return [...this.pods.values()].filter((p) => p.app === app && p.ready);
  }

  private newPod(app: string, ready: boolean): PodState {
    const d = this.deployments.get(app);
    const pod: PodState = {
      name: `${app}-7d9f8b6c5-${(this.counter++).toString(36).padStart(5, 'x')}`,
      app,
      labels: { ...(d?.podLabels ?? {}), 'pod-template-hash': '7d9f8b6c5' },
      ready,
    };
    this.pods.set(pod.name, pod);
    if (!ready) setTimeout(() => (pod.ready = true), this.readyAfterMs);
    return pod;
  }

  /** What the ReplicaSet controller does: bring the pod count to the Deployment's replicas. */
  private reconcile(app: string): void {
    const d = this.deployments.get(app);
    if (!d) return;
    const pods = [...this.pods.values()].filter((p) => p.app === app);
    for (let i = pods.length; i < d.replicas; i++) this.newPod(app, false);
    for (const p of pods.slice(d.replicas)) this.pods.delete(p.name);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          send(res, 500, status(500, 'InternalError', (e as Error).message));
        }
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  /** A kubeconfig pointing at this stand-in; plain HTTP, which client-node allows only with skip-TLS-verify. */
  kubeconfig(server: string): string {
    return `apiVersion: v1
kind: Config
clusters:
  - name: stand-in
    cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
  - name: chaos
    user: { token: ${TOKEN} }
contexts:
  - name: other
    context: { cluster: nowhere, user: chaos, namespace: default }
  - name: lab
    context: { cluster: stand-in, user: chaos, namespace: ${this.namespace} }
current-context: other
`;
  }

  private handle(req: IncomingMessage, res: ServerResponse, text: string) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return send(res, 400, status(400, 'BadRequest', 'the body is not JSON'));
      }
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.search,
      contentType: req.headers['content-type'],
      body,
    });
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const ns = this.namespace;
    const parts = url.pathname.split('/').filter(Boolean);
    const inNs = (prefix: string[]) =>
      prefix.every((p, i) => parts[i] === p) &&
      parts[prefix.length] === 'namespaces' &&
      parts[prefix.length + 1] === ns;

    // /api/v1/namespaces/{ns}/pods[/{name}]
    if (inNs(['api', 'v1']) && parts[4] === 'pods') {
      const name = parts[5];
      if (!name && method === 'GET') {
        const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
        if (typeof selector === 'string') return send(res, 400, status(400, 'BadRequest', selector));
        const items = [...this.pods.values()]
          .filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v))
          .map((p) => podObject(p, ns));
        return send(res, 200, {
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '1' },
          items,
        });
      }
      if (name && method === 'DELETE') {
        const pod = this.pods.get(name);
        if (!pod) return send(res, 404, status(404, 'NotFound', `pods "${name}" not found`, 'pods', name));
        if (body !== undefined && (body as { kind?: string }).kind !== 'DeleteOptions')
          return send(res, 400, status(400, 'BadRequest', 'body must be DeleteOptions'));
        this.pods.delete(name);
        setTimeout(() => this.reconcile(pod.app), 20);
        return send(res, 200, podObject(pod, ns));
      }
      return send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported here`));
    }

    // /apis/apps/v1/namespaces/{ns}/deployments/{name}[/scale]
    if (inNs(['apis', 'apps', 'v1']) && parts[5] === 'deployments' && parts[6]) {
      const d = this.deployments.get(parts[6]);
      if (!d)
        return send(
          res,
          404,
          status(404, 'NotFound', `deployments.apps "${parts[6]}" not found`, 'deployments', parts[6]),
        );
      if (parts[7] === 'scale') {
        if (method === 'GET') return send(res, 200, scaleObject(d, ns));
        if (method === 'PATCH') {
          if (req.headers['content-type'] !== 'application/merge-patch+json')
            return send(
              res,
              415,
              status(
                415,
                'UnsupportedMediaType',
                `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
              ),
            );
          const replicas = (body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
          if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
            return send(
              res,
              422,
              status(422, 'Invalid', 'spec.replicas: Invalid value: must be greater than or equal to 0'),
            );
          d.replicas = replicas;
          setTimeout(() => this.reconcile(d.name), 20);
          return send(res, 200, scaleObject(d, ns));
        }
        return send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported here`));
      }
      if (!parts[7] && method === 'GET') {
        const ready = this.readyPods(d.name).length;
        return send(res, 200, {
          kind: 'Deployment',
          apiVersion: 'apps/v1',
          metadata: { name: d.name, namespace: ns, labels: d.labels, resourceVersion: '1' },
          spec: {
            replicas: d.replicas,
            selector: { matchLabels: { 'app.kubernetes.io/name': d.name } },
            template: { metadata: { labels: d.podLabels } },
          },
          status: { replicas: d.replicas, readyReplicas: ready, availableReplicas: ready },
        });
      }
      return send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported here`));
    }

    // /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies[/{name}]
    if (inNs(['apis', 'networking.k8s.io', 'v1']) && parts[5] === 'networkpolicies') {
      const name = parts[6];
      if (!name && method === 'GET')
        return send(res, 200, {
          kind: 'NetworkPolicyList',
          apiVersion: 'networking.k8s.io/v1',
          metadata: {},
          items: [...this.policies.values()],
        });
      const policy = body as {
        kind?: string;
        apiVersion?: string;
        metadata?: { name?: string };
        spec?: unknown;
      };
      const valid =
        policy?.kind === 'NetworkPolicy' && policy.apiVersion === 'networking.k8s.io/v1' && policy.spec;
      if (!name && method === 'POST') {
        if (!valid || !policy.metadata?.name)
          return send(res, 400, status(400, 'BadRequest', 'not a NetworkPolicy'));
        if (this.policies.has(policy.metadata.name))
          return send(
            res,
            409,
            status(409, 'AlreadyExists', `networkpolicies "${policy.metadata.name}" already exists`),
          );
        this.addPolicy(policy as Record<string, unknown>);
        return send(res, 201, this.policies.get(policy.metadata.name));
      }
      if (name && method === 'PUT') {
        if (!valid) return send(res, 400, status(400, 'BadRequest', 'not a NetworkPolicy'));
        if (policy.metadata?.name !== name)
          return send(
            res,
            400,
            status(400, 'BadRequest', 'the name of the object does not match the name on the URL'),
          );
        if (!this.policies.has(name))
          return send(res, 404, status(404, 'NotFound', `networkpolicies "${name}" not found`));
        this.addPolicy(policy as Record<string, unknown>);
        return send(res, 200, this.policies.get(name));
      }
      if (name && method === 'DELETE') {
        const existing = this.policies.get(name);
        if (!existing) return send(res, 404, status(404, 'NotFound', `networkpolicies "${name}" not found`));
        this.policies.delete(name);
        return send(res, 200, status(200, '', '', 'networkpolicies', name, 'Success'));
      }
      return send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported here`));
    }
    return send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }
}

/** Equality-based selectors as the API parses them (`a=b,c==d`); anything else is refused. */
function parseSelector(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const term of text.split(',')) {
    const m = /^([a-z0-9A-Z./-]+)==?([a-z0-9A-Z._-]*)$/.exec(term);
    if (!m?.[1]) return `unable to parse requirement: ${term}`;
    out[m[1]] = m[2] ?? '';
  }
  return out;
}

function podObject(p: PodState, ns: string) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: p.name, namespace: ns, labels: p.labels, resourceVersion: '1' },
    spec: { containers: [{ name: p.app, image: `cloudcafe/${p.app}:lab` }] },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Ready', status: p.ready ? 'True' : 'False' },
        { type: 'ContainersReady', status: p.ready ? 'True' : 'False' },
      ],
    },
  };
}

function scaleObject(d: DeploymentState, ns: string) {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: d.name, namespace: ns, resourceVersion: '1' },
    spec: { replicas: d.replicas },
    status: { replicas: d.replicas, selector: `app.kubernetes.io/name=${d.name}` },
  };
}

function status(code: number, reason: string, message: string, kind?: string, name?: string, st = 'Failure') {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: st,
    message,
    reason,
    ...(kind ? { details: { name, kind } } : {}),
    code,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
