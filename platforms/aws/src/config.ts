import { PAYMENT_HANDLER_ENTRY } from './names.js';

/**
 * The lab's two sizes. `small` is the cheap lab for trying experiments (one of everything that
 * a fault needs, burstable instances, serverless capacity that pauses); `full` is the sizing of
 * the original CloudCafe stories, where the stress scenarios reach their CPU targets.
 * docs/cost.md prices both.
 */
export const SIZES = ['small', 'full'] as const;
export type Size = (typeof SIZES)[number];

export interface Sizing {
  readonly natGateways: number;
  readonly aurora: { readonly minAcu: number; readonly maxAcu: number };
  readonly documentDb: { readonly instanceType: string; readonly instances: number };
  /** Two nodes in both sizes: the AZ-power-interruption fault needs a replica in the other AZ. */
  readonly redis: { readonly nodeType: string; readonly nodes: number };
  readonly memoryDb: { readonly nodeType: string; readonly replicasPerShard: number };
  readonly kinesis: { readonly mode: 'provisioned' | 'on-demand'; readonly shards: number };
  readonly redshift: { readonly baseRpu: number; readonly maxRpu: number };
  readonly fargate: { readonly cpu: number; readonly memoryMiB: number; readonly tasks: number };
  readonly eks: {
    readonly instanceType: string;
    readonly min: number;
    readonly desired: number;
    readonly max: number;
  };
  readonly ec2: { readonly instanceType: string; readonly instances: number };
  readonly lambda: { readonly memoryMiB: number };
  /** Requests per IP per 5 minutes before WAF blocks (the scalper rule is tighter). */
  readonly wafRateLimit: number;
}

export const SIZING: Readonly<Record<Size, Sizing>> = {
  small: {
    natGateways: 1,
    aurora: { minAcu: 0, maxAcu: 2 },
    documentDb: { instanceType: 't4g.medium', instances: 1 },
    redis: { nodeType: 'cache.t4g.micro', nodes: 2 },
    memoryDb: { nodeType: 'db.t4g.small', replicasPerShard: 0 },
    kinesis: { mode: 'provisioned', shards: 1 },
    redshift: { baseRpu: 8, maxRpu: 8 },
    fargate: { cpu: 256, memoryMiB: 512, tasks: 1 },
    eks: { instanceType: 't3.medium', min: 1, desired: 2, max: 3 },
    ec2: { instanceType: 't3.small', instances: 1 },
    lambda: { memoryMiB: 512 },
    wafRateLimit: 2000,
  },
  full: {
    natGateways: 2,
    aurora: { minAcu: 0.5, maxAcu: 16 },
    documentDb: { instanceType: 'r6g.large', instances: 3 },
    redis: { nodeType: 'cache.r7g.large', nodes: 2 },
    memoryDb: { nodeType: 'db.r7g.large', replicasPerShard: 1 },
    kinesis: { mode: 'on-demand', shards: 0 },
    redshift: { baseRpu: 32, maxRpu: 128 },
    fargate: { cpu: 1024, memoryMiB: 2048, tasks: 2 },
    eks: { instanceType: 'm6i.large', min: 2, desired: 3, max: 10 },
    ec2: { instanceType: 'c6i.large', instances: 2 },
    lambda: { memoryMiB: 1024 },
    wafRateLimit: 10_000,
  },
};

/** Everything the app reads from CDK context, validated once. */
export interface LabSettings {
  readonly size: Size;
  readonly sizing: Sizing;
  /** Image tag pushed to each `cloudcafe/<service>` ECR repository (docs/deploy.md). */
  readonly imageTag: string;
  /** E-mail subscribed to the alarm topic; none means subscribe later. */
  readonly alarmEmail: string | undefined;
  /** CIDRs of the load generators, exempt from the WAF rate rules during game days. */
  readonly loadGeneratorCidrs: readonly string[];
  /** ACM certificate for HTTPS on the public entry; without it the entry is HTTP only. */
  readonly certificateArn: string | undefined;
  /** The payment handler to bundle, relative to the repository root or absolute. */
  readonly paymentEntry: string;
  /**
   * The card processor the payment Lambda charges (an external system: locally the lab's
   * simulator). Without it the function is deployed but refuses to start, naming the variable.
   */
  readonly paymentGatewayUrl: string | undefined;
}

/** Thrown for a context value that is not one the app understands; names the key and why. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

type Context = (key: string) => unknown;

function stringSetting(context: Context, key: string): string | undefined {
  const value = context(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new SettingsError(`context "${key}" must be a string, got ${typeof value}`);
  return value;
}

/**
 * Reads and validates the lab's settings from CDK context (`cdk.json` or `-c key=value`).
 * `paymentEntry` falls back to the environment variable `CLOUDCAFE_PAYMENT_ENTRY`, then to the
 * real handler, so a developer can synthesize before the payment service exists.
 */
export function readSettings(
  context: Context,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LabSettings {
  const size = stringSetting(context, 'size') ?? 'small';
  if (!(SIZES as readonly string[]).includes(size)) {
    throw new SettingsError(`context "size" must be one of ${SIZES.join(', ')}, got "${size}"`);
  }
  const imageTag = stringSetting(context, 'imageTag') ?? 'lab';
  if (!/^[\w][\w.-]{0,127}$/.test(imageTag)) {
    throw new SettingsError(`context "imageTag" is not a valid image tag: "${imageTag}"`);
  }
  const cidrs = (stringSetting(context, 'loadGeneratorCidrs') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const cidr of cidrs) {
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) {
      throw new SettingsError(`context "loadGeneratorCidrs" holds "${cidr}", which is not an IPv4 CIDR`);
    }
  }
  const paymentGatewayUrl = stringSetting(context, 'paymentGatewayUrl');
  if (paymentGatewayUrl !== undefined && !/^https:\/\/[^\s/]+/.test(paymentGatewayUrl)) {
    throw new SettingsError(
      `context "paymentGatewayUrl" must be an https:// URL, got "${paymentGatewayUrl}"`,
    );
  }
  const alarmEmail = stringSetting(context, 'alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    throw new SettingsError(`context "alarmEmail" is not an e-mail address: "${alarmEmail}"`);
  }
  return {
    size: size as Size,
    sizing: SIZING[size as Size],
    paymentGatewayUrl,
    imageTag,
    alarmEmail,
    loadGeneratorCidrs: cidrs,
    certificateArn: stringSetting(context, 'certificateArn'),
    paymentEntry:
      stringSetting(context, 'paymentEntry') ?? env.CLOUDCAFE_PAYMENT_ENTRY ?? PAYMENT_HANDLER_ENTRY,
  };
}
