import { existsSync, readFileSync } from 'node:fs';
import type { DataSources, Target } from '@cloudcafe/chaos-interface';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

// The target's shape is the chaos interface's (platforms build theirs; the local one is the
// lab's `labTarget`); this module adds the targets the core itself makes: none, or a file.
export {
  type AwsAccess,
  type AwsApi,
  awsClientConfig,
  type DataSources,
  type Target,
} from '@cloudcafe/chaos-interface';
export { labTarget } from '@cloudcafe/local-platform';

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
