import type { Static, TSchema } from 'typebox';
import type { Validator } from 'typebox/compile';
import { Compile } from 'typebox/compile';

/** The part of an issue the kit reads; TypeBox's and Fastify's validation errors both fit. */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** A JSON schema fragment, read loosely to describe what a value must look like. */
interface SchemaShape {
  type?: unknown;
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaShape[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, SchemaShape>;
  items?: SchemaShape;
  additionalProperties?: unknown;
}

// Compiled once per schema object: schemas are module-level constants, so this stays small.
const validators = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema) as Validator;
    validators.set(schema, validator);
  }
  return validator;
}

/** One offending field and what it must be, e.g. `{field: 'PORT', problem: 'must be …'}`. */
export interface ValidationProblem {
  field: string;
  problem: string;
}

/** Why a value failed its schema; the message names every offending field. */
export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError';
  constructor(readonly problems: readonly ValidationProblem[]) {
    super(problems.map(({ field, problem }) => `${field}: ${problem}`).join('; '));
  }
}

/**
 * Applies the schema's defaults, optionally coerces strings to the declared numbers and
 * booleans (for env vars, query strings and path params), checks the result and returns it.
 * Throws a {@link SchemaValidationError} whose message names every offending field.
 *
 * @example
 * ```ts
 * const knobs = parseWithSchema(Knobs, body, { part: 'body' });
 * ```
 */
export function parseWithSchema<S extends TSchema>(
  schema: S,
  value: unknown,
  options: { part: string; coerce?: boolean },
): Static<S> {
  const validator = validatorFor(schema);
  // Defaults are written into the value itself: callers pass values they own (a parsed body).
  let candidate = validator.Default(value);
  if (options.coerce) candidate = coerceBooleans(schema, validator.Convert(candidate));
  if (validator.Check(candidate)) return candidate as Static<S>;
  const issues = validator.Errors(candidate) as ValidationIssue[];
  throw new SchemaValidationError(listValidationProblems(options.part, issues, schema));
}

const TRUTHY = new Set(['true', '1', 'on', 'yes']);
const FALSY = new Set(['false', '0', 'off', 'no']);

/** TypeBox converts 'true'/'false'; people also write on/off and yes/no in env files. */
function coerceBooleans(schema: TSchema, value: unknown): unknown {
  const properties = (schema as SchemaShape).properties;
  if (!properties || typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  for (const [key, property] of Object.entries(properties)) {
    const raw = record[key];
    if (property.type !== 'boolean' || typeof raw !== 'string') continue;
    const lower = raw.trim().toLowerCase();
    if (TRUTHY.has(lower)) record[key] = true;
    else if (FALSY.has(lower)) record[key] = false;
  }
  return record;
}

/**
 * Turns validation issues into one message naming every offending field, e.g.
 * `body.durationSeconds: must be an integer between 1 and 600`. With the schema at hand the
 * message says what the field must be, read from the schema; without it, from the keyword.
 *
 * @example
 * ```ts
 * formatValidationIssues('body', validator.Errors(body), Body);
 * ```
 */
export function formatValidationIssues(
  part: string,
  issues: readonly ValidationIssue[],
  schema?: unknown,
): string {
  return new SchemaValidationError(listValidationProblems(part, issues, schema)).message;
}

/** Like {@link formatValidationIssues}, one entry per offending field. */
export function listValidationProblems(
  part: string,
  issues: readonly ValidationIssue[],
  schema?: unknown,
): ValidationProblem[] {
  const byField = new Map<string, string>();
  const note = (field: string, why: string) => {
    if (!byField.has(field)) byField.set(field, why);
  };
  for (const issue of issues) {
    const path = pointerSegments(issue.instancePath);
    if (issue.keyword === 'required') {
      for (const name of listParam(issue.params?.requiredProperties))
        note(fieldName(part, [...path, name]), 'is required');
    } else if (issue.keyword === 'additionalProperties') {
      for (const name of listParam(issue.params?.additionalProperties)) {
        note(fieldName(part, [...path, name]), 'is not allowed');
      }
    } else if (issue.keyword === 'boolean' && path.length > 0) {
      // `additionalProperties: false` reports each extra field this way too.
      note(fieldName(part, path), 'is not allowed');
    } else {
      const described =
        schema === undefined ? undefined : describeSchema(schemaAt(schema as SchemaShape, path));
      note(fieldName(part, path), described ?? keywordMessage(issue));
    }
  }
  if (byField.size === 0) return [{ field: part || 'value', problem: 'is invalid' }];
  return [...byField].map(([field, problem]) => ({ field, problem }));
}

function listParam(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function fieldName(part: string, path: string[]): string {
  return [part, ...path].filter((segment) => segment !== '').join('.') || 'value';
}

function schemaAt(schema: SchemaShape, path: string[]): SchemaShape | undefined {
  let current: SchemaShape | undefined = schema;
  for (const segment of path) {
    if (!current) return undefined;
    if (current.properties?.[segment]) current = current.properties[segment];
    else if (current.items) current = current.items;
    else if (typeof current.additionalProperties === 'object')
      current = current.additionalProperties as SchemaShape;
    else return undefined;
  }
  return current;
}

/** Says in words what a value must be to satisfy the schema, or undefined if it cannot. */
function describeSchema(schema: SchemaShape | undefined): string | undefined {
  if (!schema) return undefined;
  const choices = enumerated(schema);
  if (choices) return choices.length === 1 ? `must be ${choices[0]}` : `must be one of ${choices.join(', ')}`;
  switch (schema.type) {
    case 'integer':
    case 'number':
      return `must be ${schema.type === 'integer' ? 'an integer' : 'a number'}${bounds(schema)}`;
    case 'string': {
      const parts = ['must be a'];
      if (schema.minLength === 1 && schema.maxLength === undefined) parts.push('non-empty string');
      else parts.push('string');
      if (schema.maxLength !== undefined)
        parts.push(`of ${schema.minLength ?? 0} to ${schema.maxLength} characters`);
      else if ((schema.minLength ?? 0) > 1) parts.push(`of at least ${schema.minLength} characters`);
      if (schema.format) parts.push(`in ${schema.format} format`);
      if (schema.pattern) parts.push(`matching ${schema.pattern}`);
      return parts.join(' ');
    }
    case 'boolean':
      return 'must be true or false';
    case 'object':
      return 'must be an object';
    case 'array': {
      const size =
        schema.maxItems !== undefined
          ? ` of ${schema.minItems ?? 0} to ${schema.maxItems} items`
          : schema.minItems
            ? ` of at least ${schema.minItems} items`
            : '';
      return `must be an array${size}`;
    }
    default:
      return undefined;
  }
}

function enumerated(schema: SchemaShape): string[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum.map(String);
  if (schema.const !== undefined) return [String(schema.const)];
  if (Array.isArray(schema.anyOf)) {
    const members = schema.anyOf.map(enumerated);
    if (members.every((member) => member !== undefined)) return members.flat();
  }
  return undefined;
}

function bounds(schema: SchemaShape): string {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  if (minimum !== undefined && maximum !== undefined) return ` between ${minimum} and ${maximum}`;
  const parts: string[] = [];
  if (minimum !== undefined) parts.push(`>= ${minimum}`);
  if (exclusiveMinimum !== undefined) parts.push(`> ${exclusiveMinimum}`);
  if (maximum !== undefined) parts.push(`<= ${maximum}`);
  if (exclusiveMaximum !== undefined) parts.push(`< ${exclusiveMaximum}`);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

function keywordMessage(issue: ValidationIssue): string {
  const params = issue.params ?? {};
  switch (issue.keyword) {
    case 'type':
      return `must be ${String(params.type)}`;
    case 'enum':
      return `must be one of ${listParam(params.allowedValues).join(', ')}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(params.comparison)} ${String(params.limit)}`;
    default:
      return issue.message ?? `fails ${issue.keyword}`;
  }
}
