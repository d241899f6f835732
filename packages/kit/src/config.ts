import { readFileSync } from 'node:fs';
import Type, { type Static, type TObject, type TProperties } from 'typebox';
import { SERVICE_NAMES } from './services.js';
import { parseWithSchema, SchemaValidationError, type ValidationProblem } from './validation.js';

/** The shortest admin token the kit accepts: long enough that guessing it is not a plan. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

/**
 * The variables every CloudCafe service reads. A service adds its own section with
 * {@link loadConfig}'s first argument; the two are validated together, once, at start-up.
 */
export const BaseConfigSchema = Type.Object({
  SERVICE_NAME: Type.Enum(SERVICE_NAMES, { description: 'Which CloudCafe service this process is' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to listen on' }),
  PORT: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port to listen on' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  PLATFORM: Type.Enum(['local', 'kubernetes', 'aws'], {
    default: 'local',
    description: 'Where the service runs; also the Platform metric dimension',
  }),
  ADMIN_TOKEN: Type.Optional(
    Type.String({ minLength: ADMIN_TOKEN_MIN_LENGTH, description: 'Bearer token for admin routes' }),
  ),
  ADMIN_TOKEN_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'File holding the admin token (the lab writes .cloudcafe/admin-token)',
    }),
  ),
  SERVICE_TOKEN: Type.Optional(
    Type.String({
      minLength: ADMIN_TOKEN_MIN_LENGTH,
      description:
        'The service credential: internal routes (inventory reservations) accept it, and callers send it',
    }),
  ),
  SERVICE_TOKEN_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'File holding the service credential (the lab writes .cloudcafe/service-token)',
    }),
  ),
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  AWS_S3_FORCE_PATH_STYLE: Type.Enum(['on', 'off'], {
    default: 'off',
    description: 'Path-style S3 URLs, for emulators that cannot serve bucket subdomains',
  }),
  METRICS_CLOUDWATCH: Type.Enum(['on', 'off'], {
    default: 'on',
    description: 'Publish metrics to CloudWatch',
  }),
  METRICS_FLUSH_INTERVAL_MS: Type.Integer({
    minimum: 1000,
    maximum: 300_000,
    default: 10_000,
    description: 'How often metrics are flushed to CloudWatch',
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 1000,
    maximum: 120_000,
    default: 10_000,
    description: 'Upper bound for the whole graceful shutdown',
  }),
});

/**
 * The validated base configuration; `ADMIN_TOKEN` and `SERVICE_TOKEN` are resolved (read from
 * their files if need be). Without a service credential internal routes take the admin token only.
 */
export type KitConfig = Omit<Static<typeof BaseConfigSchema>, 'ADMIN_TOKEN' | 'SERVICE_TOKEN'> & {
  ADMIN_TOKEN: string;
  SERVICE_TOKEN?: string;
};

/**
 * Thrown by {@link loadConfig}; the message names every offending variable and why, e.g.
 * `invalid configuration: PORT: must be an integer between 1 and 65535; ADMIN_TOKEN: is required …`.
 *
 * @example
 * ```ts
 * try { loadConfig(); } catch (err) { if (err instanceof ConfigError) console.error(err.problems); }
 * ```
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly ValidationProblem[]) {
    super(
      `invalid configuration: ${problems.map(({ field, problem }) => `${field}: ${problem}`).join('; ')}`,
    );
  }
}

/**
 * Validates the environment against the base schema merged with the service's own section and
 * returns the typed result. Numbers and booleans are coerced from strings, defaults applied,
 * empty variables count as unset. Throws a {@link ConfigError} naming every offending
 * variable; call it once at start-up and let that error end the process.
 *
 * @example
 * ```ts
 * import Type from 'typebox';
 * import { loadConfig } from '@cloudcafe/kit';
 *
 * const config = loadConfig(Type.Object({ DATABASE_URL: Type.String({ minLength: 1 }) }));
 * config.PORT; // number
 * config.DATABASE_URL; // string
 * ```
 */
export function loadConfig<P extends TProperties = Record<never, never>>(
  extraSchema?: TObject<P>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): KitConfig & Static<TObject<P>> {
  const schema = Type.Object({ ...BaseConfigSchema.properties, ...extraSchema?.properties });
  const raw: Record<string, string> = {};
  for (const name of Object.keys(schema.properties)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim();
  }

  const problems: ValidationProblem[] = [];
  let parsed: (Static<typeof BaseConfigSchema> & Record<string, unknown>) | undefined;
  try {
    parsed = parseWithSchema(schema, raw, { part: '', coerce: true }) as typeof parsed;
  } catch (err) {
    if (!(err instanceof SchemaValidationError)) throw err;
    problems.push(...err.problems);
  }
  const token = resolveSecret('ADMIN_TOKEN', raw, problems);
  const serviceToken = resolveSecret('SERVICE_TOKEN', raw, problems, { optional: true });
  if (problems.length > 0 || !parsed || token === undefined) throw new ConfigError(problems);
  return {
    ...parsed,
    ADMIN_TOKEN: token,
    ...(serviceToken !== undefined && { SERVICE_TOKEN: serviceToken }),
  } as KitConfig & Static<TObject<P>>;
}

/** A secret given inline (`NAME`) or as a file (`NAME_FILE`, a mounted Secret), never both. */
function resolveSecret(
  name: 'ADMIN_TOKEN' | 'SERVICE_TOKEN',
  raw: Record<string, string>,
  problems: ValidationProblem[],
  options: { optional?: boolean } = {},
): string | undefined {
  const fileVar = `${name}_FILE` as const;
  const token = raw[name];
  const file = raw[fileVar];
  if (token !== undefined && file !== undefined) {
    problems.push({ field: name, problem: `set only one of ${name} and ${fileVar}` });
    return undefined;
  }
  if (token !== undefined) return token;
  if (file === undefined) {
    if (!options.optional) {
      problems.push({ field: name, problem: `is required (or ${fileVar} naming a file that holds it)` });
    }
    return undefined;
  }
  let fromFile: string;
  try {
    fromFile = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    problems.push({ field: fileVar, problem: `cannot read ${file} (${reason})` });
    return undefined;
  }
  if (fromFile.length < ADMIN_TOKEN_MIN_LENGTH) {
    problems.push({
      field: fileVar,
      problem: `${file} must hold a token of at least ${ADMIN_TOKEN_MIN_LENGTH} characters`,
    });
    return undefined;
  }
  return fromFile;
}
