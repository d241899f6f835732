import { awsDriver } from '@cloudcafe/aws-platform/driver';
import type { Driver, DriverOptions } from '@cloudcafe/chaos-interface';
import { kubernetesDriver } from '@cloudcafe/kubernetes-platform';
import { localDriver } from '@cloudcafe/local-platform';
import type { Platform } from '../experiment/schema.js';

/**
 * The CLI's wiring: the one place the core meets the platforms (platforms/<name>), each behind
 * the chaos interface. The driver of a platform. Options (context, namespace, role ARN…) only
 * matter to the kubernetes and aws drivers; nothing connects until a fault is injected, so
 * validation can ask any driver what it supports without a cluster or an account.
 */
export function driverFor(platform: Platform, options: DriverOptions = {}): Driver {
  switch (platform) {
    case 'local':
      return localDriver(options.target);
    case 'kubernetes':
      return kubernetesDriver(options);
    case 'aws':
      return awsDriver(options);
  }
}

export type {
  ActiveFault,
  Driver,
  DriverOptions,
  Effect,
  InjectContext,
  JournalledFault,
  PlatformSnapshot,
} from '@cloudcafe/chaos-interface';

/** Command-line flags → driver options; the flags are declared once, in `addDriverFlags`. */
export function driverOptionsFrom(flags: {
  context?: string;
  namespace?: string;
  kubeconfig?: string;
  roleArn?: string;
  stopAlarms?: string;
  maxPods?: string;
}): DriverOptions {
  return {
    ...(flags.context ? { context: flags.context } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.roleArn ? { roleArn: flags.roleArn } : {}),
    ...(flags.stopAlarms ? { stopAlarms: flags.stopAlarms.split(',').map((a) => a.trim()) } : {}),
    ...(flags.maxPods ? { maxPods: flags.maxPods } : {}),
  };
}

/** The flags of the kubernetes and aws drivers, for every command that runs faults. */
export function addDriverFlags<C extends { option(flags: string, description: string): C }>(command: C): C {
  return command
    .option('--yes', 'really inject on kubernetes / aws (without it those platforms only print the plan)')
    .option('--context <context>', 'kubernetes: kubeconfig context (default: the current one)')
    .option('--namespace <namespace>', 'kubernetes: namespace (default: cloudcafe)')
    .option('--kubeconfig <file>', 'kubernetes: kubeconfig file (default: KUBECONFIG or ~/.kube/config)')
    .option('--max-pods <n|pct>', 'kubernetes: most pods one fault may touch, e.g. 1 or 50% (default: 50%)')
    .option('--role-arn <arn>', 'aws: IAM role FIS runs as (default: CLOUDCAFE_FIS_ROLE_ARN)')
    .option('--stop-alarms <names>', 'aws: comma-separated CloudWatch alarms that stop the experiment');
}
