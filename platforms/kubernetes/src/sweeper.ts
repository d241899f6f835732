import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DriverOptions, SweptFault } from '@cloudcafe/chaos-interface';
import { FAULT_SWEEPER, K8S_NAMESPACE } from '@cloudcafe/contracts';
import { kubernetesDriver } from './driver.js';

/**
 * The in-cluster fault sweeper: undoes every fault whose mark on the cluster is past its
 * deadline, then exits. The CronJob of manifests/base/fault-sweeper.yaml runs it every minute
 * in the namespace, with a ServiceAccount that may restore replicas and put NetworkPolicies back
 * and nothing else, so a pause or a partition ends at its deadline (plus at most a minute) even
 * when the orchestrator that injected it was killed and no one runs `experiment revert`.
 *
 * In a pod, the credentials are the ServiceAccount's token (the client's in-cluster config);
 * elsewhere KUBECONFIG applies, which is how the tests run it with that same account's token.
 */

/** What one run prints: a JSON line per swept fault, and the exit code it ends with. */
export const EXIT = { swept: 0, revertFailed: 1, sweepFailed: 2 } as const;

export interface SweeperOptions extends Pick<DriverOptions, 'kubeconfig' | 'context'> {
  readonly namespace: string;
}

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({ time: new Date().toISOString(), component: FAULT_SWEEPER.name, ...fields });

const sweptLine = (namespace: string, f: SweptFault) =>
  line({
    msg: f.effect?.verified ? 'fault undone past its deadline' : 'fault past its deadline NOT undone',
    level: f.effect?.verified ? 'info' : 'error',
    namespace,
    resource: f.resource,
    tag: f.tag,
    until: f.until,
    detail: f.effect?.detail,
  });

/** One sweep of the namespace; resolves to the process's exit code and never throws. */
export async function sweepOnce(options: SweeperOptions, write: (line: string) => void): Promise<number> {
  const driver = kubernetesDriver(options);
  try {
    const swept = (await driver.sweep?.({ expiredOnly: true })) ?? [];
    for (const f of swept) write(sweptLine(options.namespace, f));
    if (swept.length === 0)
      write(line({ msg: 'no fault past its deadline', level: 'info', namespace: options.namespace }));
    return swept.every((f) => f.effect?.verified) ? EXIT.swept : EXIT.revertFailed;
  } catch (error) {
    write(line({ msg: 'sweep failed', level: 'error', namespace: options.namespace, error: String(error) }));
    return EXIT.sweepFailed;
  }
}

/** The namespace from the Downward API (the CronJob sets POD_NAMESPACE), else the project's. */
export const sweeperOptionsFromEnv = (env: NodeJS.ProcessEnv): SweeperOptions => ({
  namespace: env.POD_NAMESPACE || K8S_NAMESPACE,
});

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  process.exitCode = await sweepOnce(sweeperOptionsFromEnv(process.env), (l) => console.log(l));
}
