import { existsSync, readFileSync } from 'node:fs';
import { ORDERS_DATABASE } from '@cloudcafe/contracts';
import {
  adminTokenFile,
  awsEndpointUrl,
  HOST,
  LOCAL_AWS_CREDENTIALS,
  LOCAL_AWS_REGION,
  labPaths,
  PORTS,
  readLabState,
} from '@cloudcafe/local-platform';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * What judges a run: the system's public entry and admin credential (the probes, the load, the
 * service faults) and the data sources the audit reads each business record from. The local
 * lab's comes from its state file and its ports; any other system — the lab reached from
 * elsewhere, a cluster behind port-forwards, a deployed stack — from a target file
 * (`--target <file>`), and then nothing of `.cloudcafe/` is read.
 */
export interface Target {
  readonly gateway: () => string;
  readonly adminToken: () => string;
  readonly sources: () => DataSources;
}

/** The AWS APIs the audit and the run's charts read. */
export type AwsApi = 'dynamodb' | 'sqs' | 's3' | 'cloudwatch';

export interface AwsAccess {
  readonly region: string;
  /** An endpoint per API, for an emulator; an API not listed goes to its AWS endpoint. */
  readonly endpoints: Readonly<Partial<Record<AwsApi, string>>>;
  /** Fixed credentials (an emulator's); absent: the SDK's standard chain (env, profile, role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface DataSources {
  /** The order service's PostgreSQL (orders, outbox); PGPASSWORD and the other PG* variables apply. */
  readonly ordersDatabase: string;
  readonly aws: AwsAccess;
  /** The payment gateway's call-log API; absent where the processor has none (the real one). */
  readonly paymentGateway?: string;
}

/** The SDK client settings for one API of a target. */
export function awsClientConfig(aws: AwsAccess, api: AwsApi) {
  const endpoint = aws.endpoints[api];
  return {
    region: aws.region,
    ...(endpoint ? { endpoint } : {}),
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
  };
}

/** The running local lab, read from `.cloudcafe/` and its ports when a probe or the audit runs. */
export const labTarget: Target = {
  gateway() {
    const state = readLabState(labPaths());
    if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
    return state.gateway;
  },
  adminToken: () => readFileSync(adminTokenFile(labPaths()), 'utf8').trim(),
  sources: () => ({
    ordersDatabase: `postgres://cloudcafe@${HOST}:${PORTS.postgres}/${ORDERS_DATABASE}`,
    aws: {
      region: LOCAL_AWS_REGION,
      endpoints: {
        dynamodb: awsEndpointUrl('dynamodb'),
        sqs: awsEndpointUrl('sqs'),
        s3: awsEndpointUrl('s3'),
        cloudwatch: awsEndpointUrl('cloudwatch'),
      },
      credentials: LOCAL_AWS_CREDENTIALS,
    },
    paymentGateway: `http://${HOST}:${PORTS.paymentGatewaySimulator}`,
  }),
};

/**
 * A platform with no target of its own (kubernetes or aws run without `--target`): every probe
 * fails with a message saying what to pass, so the before-hypothesis fails and nothing is
 * injected — it never judges the local lab instead.
 */
export function missingTarget(platform: string): Target {
  const fail = (): never => {
    throw new Error(`--platform ${platform} needs --target <file> naming its gateway and data sources`);
  };
  return { gateway: fail, adminToken: fail, sources: fail };
}

const Origin = Type.String({ pattern: '^https?://[^/]+$', description: 'an http(s) origin, no path' });

/** The target file: every key is required but `paymentGateway` and `aws.endpoints`. */
export const TargetFile = Type.Object(
  {
    gateway: Origin,
    adminTokenFile: Type.String({ minLength: 1 }),
    ordersDatabase: Type.String({ pattern: '^postgres(ql)?://' }),
    aws: Type.Object(
      {
        region: Type.String({ minLength: 1 }),
        endpoints: Type.Optional(
          Type.Object(
            {
              dynamodb: Type.Optional(Origin),
              sqs: Type.Optional(Origin),
              s3: Type.Optional(Origin),
              cloudwatch: Type.Optional(Origin),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    paymentGateway: Type.Optional(Origin),
  },
  { additionalProperties: false },
);
export type TargetFile = Static<typeof TargetFile>;

const keyPath = (instancePath: string, key?: string): string =>
  [...instancePath.split('/').filter(Boolean), ...(key ? [key] : [])].join('.');

/** The first thing wrong with a target file, as a sentence naming the key: unknown keys first. */
function firstError(body: unknown): string | undefined {
  const errors = Value.Errors(TargetFile, body);
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) {
    const key = (unknown.params as { additionalProperties?: string[] }).additionalProperties?.[0];
    return `unknown key "${keyPath(unknown.instancePath, key)}"`;
  }
  const missing = errors.find((e) => e.keyword === 'required');
  if (missing) {
    const key = (missing.params as { requiredProperties?: string[] }).requiredProperties?.[0];
    return `missing key "${keyPath(missing.instancePath, key)}"`;
  }
  const error = errors[0];
  return error && `${keyPath(error.instancePath) || 'the file'}: ${error.message}`;
}

/**
 * A target file: `{gateway, adminTokenFile, ordersDatabase, aws: {region, endpoints?},
 * paymentGateway?}`. Read once, when the run starts; an unknown key, a gateway that is not an
 * http(s) origin or a token file that is not there is refused with the key named. AWS
 * credentials come from the SDK's standard chain, the database password from PGPASSWORD (or the
 * URL), so the file itself holds no secret.
 */
export function targetFromFile(file: string): Target {
  const body = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  const wrong = firstError(body);
  if (wrong) throw new Error(`${file}: ${wrong}`);
  const parsed = body as TargetFile;
  if (!existsSync(parsed.adminTokenFile))
    throw new Error(`${file}: adminTokenFile must name a file that exists`);
  const token = readFileSync(parsed.adminTokenFile, 'utf8').trim();
  const sources: DataSources = {
    ordersDatabase: parsed.ordersDatabase,
    aws: { region: parsed.aws.region, endpoints: parsed.aws.endpoints ?? {} },
    ...(parsed.paymentGateway ? { paymentGateway: parsed.paymentGateway } : {}),
  };
  return { gateway: () => parsed.gateway, adminToken: () => token, sources: () => sources };
}
