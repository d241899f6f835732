import t from 'tap';
import { type KubernetesObject, renderKustomization } from '../src/kustomize.js';
import { CHAOS_LABEL, FAULT_SWEEPER, K8S_NAMESPACE } from '../src/names.js';

/**
 * Renders every kustomization with the real kustomize and validates each object offline:
 * built-in kinds against the Kubernetes OpenAPI schemas shipped in the `kubernetes-models`
 * package; the two custom resources (SecretProviderClass, k6 TestRun) against the fields their
 * CRDs define that these manifests use, checked here by hand because no package ships them.
 */
const OVERLAYS = [
  'platforms/kubernetes/manifests/overlays/aws',
  'platforms/kubernetes/manifests/overlays/kubernetes',
];
const LOAD = 'platforms/kubernetes/manifests/load';

async function validateBuiltIn(obj: KubernetesObject): Promise<void> {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const path = group
    ? `kubernetes-models/${group}/${version}/${obj.kind}`
    : `kubernetes-models/${version}/${obj.kind}`;
  const mod = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind] ?? mod.default;
  if (!Model) throw new Error(`no model for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

const CUSTOM: Record<string, (obj: KubernetesObject) => string[]> = {
  'secrets-store.csi.x-k8s.io/v1 SecretProviderClass': (obj) => {
    const spec = obj.spec as {
      provider?: unknown;
      parameters?: { objects?: unknown };
      secretObjects?: unknown[];
    };
    const problems: string[] = [];
    if (spec.provider !== 'aws') problems.push('spec.provider must be aws');
    if (typeof spec.parameters?.objects !== 'string')
      problems.push('spec.parameters.objects must be a string');
    if (!Array.isArray(spec.secretObjects)) problems.push('spec.secretObjects must be a list');
    return problems;
  },
  'k6.io/v1alpha1 TestRun': (obj) => {
    const spec = obj.spec as {
      parallelism?: unknown;
      script?: { configMap?: { name?: unknown; file?: unknown } };
      cleanup?: unknown;
      arguments?: unknown;
    };
    const problems: string[] = [];
    if (!Number.isInteger(spec.parallelism)) problems.push('spec.parallelism must be an integer');
    if (typeof spec.script?.configMap?.name !== 'string')
      problems.push('spec.script.configMap.name is required');
    if (typeof spec.script?.configMap?.file !== 'string')
      problems.push('spec.script.configMap.file is required');
    if (spec.cleanup !== undefined && spec.cleanup !== 'post') problems.push('spec.cleanup may only be post');
    if (spec.arguments !== undefined && typeof spec.arguments !== 'string')
      problems.push('spec.arguments is a string');
    return problems;
  },
};

for (const dir of [...OVERLAYS, LOAD]) {
  t.test(`${dir} renders and every object matches its schema`, async (t) => {
    const objects = renderKustomization(dir);
    t.ok(objects.length > 0);
    for (const obj of objects) {
      const custom = CUSTOM[`${obj.apiVersion} ${obj.kind}`];
      if (custom) t.same(custom(obj), [], `${obj.kind}/${obj.metadata.name}`);
      else await t.resolves(validateBuiltIn(obj), `${obj.kind}/${obj.metadata.name}`);
    }
  });
}

for (const dir of OVERLAYS) {
  t.test(`${dir}: inventory and menu are production-shaped and chaos-labelled`, async (t) => {
    const objects = renderKustomization(dir);
    const find = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name);
    for (const service of ['inventory', 'menu']) {
      const deployment = find('Deployment', service) as KubernetesObject & {
        spec: { template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } };
      };
      t.ok(deployment, `${service} Deployment`);
      t.equal(deployment.spec.template.metadata.labels[CHAOS_LABEL.key], CHAOS_LABEL.value);
      t.equal(deployment.metadata.namespace, K8S_NAMESPACE, 'in the registry namespace');
      const [container] = deployment.spec.template.spec.containers as Record<
        string,
        Record<string, unknown>
      >[];
      t.ok(container?.resources?.requests && container.resources.limits, 'requests and limits');
      const path = (probe: string) =>
        (container?.[probe] as { httpGet?: { path?: string } } | undefined)?.httpGet?.path;
      // a dependency outage makes a pod unready, never restarted: liveness is not the deep check
      t.equal(path('livenessProbe'), `/api/${service}/health/live`, 'liveness');
      t.equal(path('startupProbe'), `/api/${service}/health/live`, 'startup');
      t.equal(path('readinessProbe'), `/api/${service}/health/ready`, 'readiness');
      t.match(container?.lifecycle, { preStop: { sleep: { seconds: Number } } }, 'a preStop pause');
      t.equal(deployment.spec.template.spec.serviceAccountName, service);
      t.match(find('HorizontalPodAutoscaler', service), {
        spec: {
          minReplicas: 2,
          maxReplicas: 10,
          metrics: [{ resource: { name: 'cpu', target: { averageUtilization: 70 } } }],
        },
      });
      t.ok(find('PodDisruptionBudget', service), 'PodDisruptionBudget');
      t.ok(find('ServiceAccount', service), 'ServiceAccount');
      t.ok(find('NetworkPolicy', service), 'NetworkPolicy');
    }
    t.match(find('NetworkPolicy', 'default-deny'), {
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  });
}

for (const dir of OVERLAYS) {
  t.test(
    `${dir}: the fault sweeper runs every minute, one at a time, with rights to undo faults only`,
    async (t) => {
      const objects = renderKustomization(dir);
      const find = (kind: string) =>
        objects.find((o) => o.kind === kind && o.metadata.name === FAULT_SWEEPER.name) as
          | (KubernetesObject & Record<string, unknown>)
          | undefined;
      const cron = find('CronJob');
      t.match(cron, {
        metadata: { namespace: K8S_NAMESPACE },
        spec: {
          schedule: '* * * * *',
          concurrencyPolicy: 'Forbid',
          jobTemplate: {
            spec: {
              backoffLimit: 0,
              activeDeadlineSeconds: Number,
              template: {
                spec: {
                  serviceAccountName: FAULT_SWEEPER.name,
                  automountServiceAccountToken: true,
                  restartPolicy: 'Never',
                  containers: [{ image: new RegExp(`^${FAULT_SWEEPER.image}:`) }],
                },
              },
            },
          },
        },
      });
      t.match(find('ServiceAccount'), { automountServiceAccountToken: false }, 'no other pod gets its token');
      t.match(find('RoleBinding'), {
        roleRef: { kind: 'Role', name: FAULT_SWEEPER.name },
        subjects: [{ kind: 'ServiceAccount', name: FAULT_SWEEPER.name }],
      });
      // exactly what a sweep calls (platforms/kubernetes/src/driver.ts `sweep`), and a Role, not a
      // ClusterRole: one namespace
      const rules = (find('Role')?.rules ?? []) as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
      }[];
      const grants = rules
        .flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${res}`)))
        .sort();
      t.same(grants, [
        'delete networkpolicies',
        'get deployments',
        'list deployments',
        'list networkpolicies',
        'patch deployments',
        'patch deployments/scale',
        'update networkpolicies',
      ]);
      t.match(find('NetworkPolicy'), {
        spec: { podSelector: { matchLabels: { 'app.kubernetes.io/name': FAULT_SWEEPER.name } } },
      });
    },
  );
}
