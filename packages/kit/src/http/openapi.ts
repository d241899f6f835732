import type { TSchema } from 'typebox';

/** What the OpenAPI generator needs to know about one route. */
export interface RouteDoc {
  method: string;
  /** Full path with `:param` placeholders. */
  url: string;
  summary?: string;
  tags?: string[];
  admin?: boolean;
  /** An internal (service-to-service) route: the service credential or the admin token. */
  internal?: boolean;
  schema?: {
    params?: unknown;
    querystring?: unknown;
    body?: unknown;
    response?: Record<string | number, unknown>;
  };
}

type JsonObject = Record<string, unknown>;

const REASONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Invalid request (CAFE_ERR_VALIDATION, CAFE_ERR_MALFORMED_BODY)',
  401: 'Missing or wrong admin token (CAFE_ERR_UNAUTHORIZED)',
  404: 'Not found (CAFE_ERR_NOT_FOUND)',
  409: 'Conflict with the current state',
  503: 'Unavailable',
};

/**
 * Builds an OpenAPI 3.1 document from route schemas, the same way for Fastify (routes seen by
 * an `onRoute` hook) and Express (the kit's route table plus routes declared with the
 * adapter's `route()`), so both frameworks publish the same kind of contract.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument({ title: 'CloudCafe order', version: '0.1.0', routes });
 * ```
 */
export function buildOpenApiDocument(options: {
  title: string;
  version: string;
  routes: readonly RouteDoc[];
}) {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const sorted = [...options.routes].sort((a, b) => a.url.localeCompare(b.url));
  for (const route of sorted) {
    const method = route.method.toLowerCase();
    if (method === 'head' || method === 'options') continue;
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const operation: JsonObject = {
      ...(route.summary && { summary: route.summary }),
      ...(route.tags && { tags: route.tags }),
      parameters: [
        ...parameters(route.schema?.params, 'path'),
        ...parameters(route.schema?.querystring, 'query'),
      ],
      responses: responses(route.schema?.response),
      ...(route.admin && { security: [{ adminToken: [] }] }),
      ...(route.internal && { security: [{ serviceToken: [] }, { adminToken: [] }] }),
    };
    if (route.schema?.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: plain(route.schema.body) } },
      };
    }
    paths[path] ??= {};
    paths[path][method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version },
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'The lab admin token' },
        serviceToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The service credential internal routes take (the lab writes .cloudcafe/service-token)',
        },
      },
    },
  };
}

function parameters(schema: unknown, where: 'path' | 'query'): JsonObject[] {
  const object = schema as { properties?: Record<string, TSchema>; required?: string[] } | undefined;
  if (!object?.properties) return [];
  return Object.entries(object.properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    schema: plain(property),
  }));
}

function responses(response: Record<string | number, unknown> | undefined): JsonObject {
  const out: JsonObject = {};
  for (const [status, schema] of Object.entries(response ?? {})) {
    const text = (schema as { type?: unknown }).type === 'string';
    out[status] = {
      description: REASONS[status] ?? 'Answer',
      content: { [text ? 'text/plain' : 'application/json']: { schema: plain(schema) } },
    };
  }
  if (Object.keys(out).length === 0) out.default = { description: 'Answer' };
  return out;
}

/** A schema as plain JSON (TypeBox keeps its own markers off the JSON form). */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema ?? {}));
}
