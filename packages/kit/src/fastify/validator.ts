import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { parseWithSchema, SchemaValidationError } from '../validation.js';

/**
 * Fastify's validator compiler, backed by the kit's validation core (the Express adapter uses
 * the same): defaults applied, params/querystring/headers coerced from strings, and a
 * message naming each offending field (`body.durationSeconds: must be an integer between …`).
 * `buildServiceApp` installs it; an app built by hand sets it the same way.
 *
 * @example
 * ```ts
 * app.setValidatorCompiler(cafeValidatorCompiler);
 * ```
 */
export const cafeValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = httpPart ?? 'body';
  const coerce = part !== 'body';
  return (value: unknown) => {
    try {
      return { value: parseWithSchema(schema, value, { part, coerce }) };
    } catch (err) {
      if (err instanceof SchemaValidationError) return { error: err };
      throw err;
    }
  };
};
