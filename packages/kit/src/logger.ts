import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Field names whose values never reach a log line, wherever they sit in the logged object. */
export const REDACTED_KEYS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'sessionToken',
  'adminToken',
  'admin_token',
  'apiKey',
  'api_key',
  'secret',
  'clientSecret',
  'secretAccessKey',
  'aws_secret_access_key',
  'password',
  'passphrase',
  'cvv',
  'cvc',
  'cardNumber',
  'card_number',
  'pan',
] as const;

/** What replaces a redacted value. */
export const REDACTED = '[redacted]';

const REDACTED_SET: ReadonlySet<string> = new Set(REDACTED_KEYS.map((key) => key.toLowerCase()));
// A nested copy deeper than this is summarised: log lines are not data dumps.
const MAX_DEPTH = 8;

/**
 * Returns a copy of `value` with secrets and card data replaced by `[redacted]`: every key in
 * {@link REDACTED_KEYS} (case-insensitive) and `number` inside a `card` object. The kit's
 * logger applies it to every line; call it yourself before putting an object anywhere else.
 *
 * @example
 * ```ts
 * redactSecrets({ card: { number: '4111…', expiry: '12/30' } }); // { card: { number: '[redacted]', expiry: '12/30' } }
 * ```
 */
export function redactSecrets(value: unknown, depth = 0, parentKey = ''): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, parentKey));
  if (value instanceof Error || value instanceof Date || Buffer.isBuffer(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const lower = key.toLowerCase();
    const secret = REDACTED_SET.has(lower) || (parentKey === 'card' && lower === 'number');
    copy[key] = secret ? REDACTED : redactSecrets(inner, depth + 1, lower);
  }
  return copy;
}

const CHILD_BINDING_PATHS = [
  ...new Set(
    REDACTED_KEYS.filter((key) => !key.includes('-')).flatMap((key) => [
      key,
      key.toLowerCase(),
      key.toUpperCase(),
      `${key.charAt(0).toUpperCase()}${key.slice(1)}`,
    ]),
  ),
  'card.number',
];

/** Options for {@link createLogger}. */
export interface CreateLoggerOptions {
  /** The service name, added to every line as `service`. */
  service: string;
  /** pino level; default `info`. */
  level?: string;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}

/**
 * A pino logger whose lines carry `service` and never carry secrets or card data: redaction
 * runs on every logged object before it is serialised, at any depth.
 *
 * @example
 * ```ts
 * const log = createLogger({ service: 'order', level: config.LOG_LEVEL });
 * log.info({ card: { number: '4111…', expiry: '12/30' } }, 'charging'); // number → [redacted]
 * ```
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log: (object) => redactSecrets(object) as Record<string, unknown>,
    },
    // pino does not pass a child's bindings through formatters.log; its own redaction covers
    // secrets bound at the top level of a child (`log.child({ token })`).
    redact: { paths: CHILD_BINDING_PATHS, censor: REDACTED },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/**
 * A child logger for one unit of work: every line carries its `requestId` and/or `orderId`.
 *
 * @example
 * ```ts
 * const log = withContext(app.log, { requestId: request.id, orderId });
 * log.info('order accepted');
 * ```
 */
export function withContext(logger: Logger, context: { requestId?: string; orderId?: string }): Logger {
  const bindings: Record<string, string> = {};
  if (context.requestId) bindings.requestId = context.requestId;
  if (context.orderId) bindings.orderId = context.orderId;
  return logger.child(bindings);
}
