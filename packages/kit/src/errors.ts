import Type, { type Static } from 'typebox';
import { formatValidationIssues, SchemaValidationError, type ValidationIssue } from './validation.js';

/**
 * Every error code a CloudCafe API answers with, listed once. A code is a contract: clients,
 * the chaos CLI and the dashboards match on it, so never rename one. Add new ones here.
 */
export const ERROR_CODES = {
  CAFE_ERR_VALIDATION: { status: 400, description: 'A parameter, query or body field is invalid' },
  CAFE_ERR_MALFORMED_BODY: { status: 400, description: 'The body is not valid JSON, or is empty' },
  CAFE_ERR_BAD_REQUEST: { status: 400, description: 'Any other malformed request' },
  CAFE_ERR_UNAUTHORIZED: { status: 401, description: 'Missing or wrong admin token' },
  CAFE_ERR_PAYMENT_DECLINED: { status: 402, description: 'The payment gateway declined the charge' },
  CAFE_ERR_NOT_FOUND: { status: 404, description: 'No such route or resource' },
  CAFE_ERR_CONFLICT: { status: 409, description: 'The request conflicts with the current state' },
  CAFE_ERR_OUT_OF_STOCK: { status: 409, description: 'Not enough stock to reserve' },
  CAFE_ERR_ORDER_NOT_CANCELLABLE: { status: 409, description: 'The order is past the point of cancel' },
  CAFE_ERR_STRESS_RUNNING: { status: 409, description: 'A stress run is already active here' },
  CAFE_ERR_STRESS_NOT_RUNNING: { status: 409, description: 'The stress run has already finished' },
  CAFE_ERR_PAYLOAD_TOO_LARGE: { status: 413, description: 'The body is larger than the limit' },
  CAFE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The body is not application/json' },
  CAFE_ERR_RATE_LIMITED: { status: 429, description: 'Too many requests' },
  CAFE_ERR_INTERNAL: { status: 500, description: 'An unexpected server error' },
  CAFE_ERR_DEPENDENCY_FAILED: { status: 502, description: 'A downstream dependency failed' },
  CAFE_ERR_INJECTED_FAULT: { status: 503, description: 'A fault flag made a dependency call fail' },
  CAFE_ERR_UNAVAILABLE: { status: 503, description: 'Shutting down, or a dependency is unavailable' },
  CAFE_ERR_DEPENDENCY_TIMEOUT: { status: 504, description: 'A downstream dependency timed out' },
} as const satisfies Record<`CAFE_ERR_${string}`, { status: number; description: string }>;

/** One of the codes in {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error a CloudCafe handler throws when it means to answer with an error. Its HTTP status
 * comes from the code, so the same code always answers the same status.
 *
 * @example
 * ```ts
 * import { CafeError } from '@cloudcafe/kit';
 *
 * throw new CafeError('CAFE_ERR_OUT_OF_STOCK', `sku ${sku}: 2 requested, 0 left`);
 * ```
 */
export class CafeError extends Error {
  override readonly name: string = 'CafeError';
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Sent as `Retry-After` (seconds): when a refusal is about load, tell the client when to come back. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { retryAfterSeconds?: number }) {
    super(message, options);
    this.code = code;
    this.statusCode = ERROR_CODES[code].status;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * The body of every error answer: `{error: {code, message}}`. Declare it in every route's
 * response schema (see {@link errorResponses}).
 */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'A stable CAFE_ERR_… code' }),
      message: Type.String({ description: 'What went wrong, for a human' }),
    }),
  },
  { description: 'The body of every CloudCafe error answer' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * Response schema entries for the given error statuses, for a route's `response` schema.
 *
 * @example
 * ```ts
 * app.get('/api/orders/:id', {
 *   schema: { params: Params, response: { 200: Order, ...errorResponses(400, 404) } },
 * }, handler);
 * ```
 */
export function errorResponses<S extends number>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorBody])) as Record<S, typeof ErrorBody>;
}

/** An error answer: status and body, ready for any framework to send. */
export interface ErrorAnswer {
  statusCode: number;
  body: ErrorBody;
  /** Headers the answer carries besides the body (`Retry-After` on a load refusal). */
  headers: Record<string, string>;
}

/** What a framework error looks like from the outside (Fastify's and body-parser's alike). */
interface FrameworkErrorShape {
  code?: unknown;
  type?: unknown;
  statusCode?: unknown;
  status?: unknown;
  validation?: unknown;
  validationContext?: unknown;
  message?: unknown;
}

/**
 * Maps whatever a handler, a framework or a body parser threw to the answer a client gets.
 * Client mistakes (validation, malformed JSON, wrong content type, too-large bodies, unknown
 * routes) always map to a 4xx; anything unknown is a 500 whose message hides the internals.
 * Both the Fastify error handler and the Express one call this, so both answer alike.
 *
 * @example
 * ```ts
 * const { statusCode, body } = toErrorAnswer(err);
 * reply.code(statusCode).send(body);
 * ```
 */
export function toErrorAnswer(err: unknown, schemaOf?: SchemaLookup): ErrorAnswer {
  const cafe = toCafeError(err, schemaOf);
  return {
    statusCode: cafe.statusCode,
    body: { error: { code: cafe.code, message: cafe.message } },
    headers: errorHeaders(cafe),
  };
}

/** The headers an error answer carries: `Retry-After` when the error names one. */
export function errorHeaders(err: CafeError): Record<string, string> {
  return err.retryAfterSeconds === undefined ? {} : { 'retry-after': String(err.retryAfterSeconds) };
}

/**
 * Finds the schema a framework validated a request part against (`body`, `querystring`…), so
 * validation messages can say what a field must be rather than which keyword failed.
 */
export type SchemaLookup = (part: string) => unknown;

/**
 * Like {@link toErrorAnswer} but returns the {@link CafeError} itself (for logging decisions).
 *
 * @example
 * ```ts
 * const cafe = toCafeError(err);
 * if (cafe.statusCode >= 500) log.error({ err }, 'request failed');
 * ```
 */
export function toCafeError(err: unknown, schemaOf?: SchemaLookup): CafeError {
  if (err instanceof CafeError) return err;
  if (err instanceof SchemaValidationError)
    return new CafeError('CAFE_ERR_VALIDATION', err.message, { cause: err });
  if (typeof err !== 'object' || err === null) return internal(err);
  const shape = err as FrameworkErrorShape;

  if (Array.isArray(shape.validation)) {
    const part = typeof shape.validationContext === 'string' ? shape.validationContext : 'body';
    return new CafeError(
      'CAFE_ERR_VALIDATION',
      formatValidationIssues(part, shape.validation as ValidationIssue[], schemaOf?.(part)),
      { cause: err },
    );
  }
  switch (shape.code ?? shape.type) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'entity.parse.failed':
      return new CafeError('CAFE_ERR_MALFORMED_BODY', 'the body is not valid JSON', { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CafeError('CAFE_ERR_MALFORMED_BODY', 'the body is empty but declared as JSON', {
        cause: err,
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CafeError('CAFE_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', {
        cause: err,
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'entity.too.large':
      return new CafeError('CAFE_ERR_PAYLOAD_TOO_LARGE', 'the body is larger than the limit', { cause: err });
    case 'FST_ERR_NOT_FOUND':
      return new CafeError('CAFE_ERR_NOT_FOUND', 'no such route', { cause: err });
  }
  const status = Number(shape.statusCode ?? shape.status);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    // Any other client error a framework raised stays a client error, never a 500.
    const message = typeof shape.message === 'string' ? shape.message : 'bad request';
    const code = status === 404 ? 'CAFE_ERR_NOT_FOUND' : status === 413 ? 'CAFE_ERR_PAYLOAD_TOO_LARGE' : null;
    return new CafeError(code ?? 'CAFE_ERR_BAD_REQUEST', message, { cause: err });
  }
  return internal(err);
}

function internal(err: unknown): CafeError {
  return new CafeError('CAFE_ERR_INTERNAL', 'internal error', { cause: err });
}
