import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CafeError, errorHeaders, toCafeError } from '../errors.js';
import './types.js';

/**
 * The error handler and not-found handler: every error answers `{error: {code, message}}`
 * with a stable code; validation failures are 400 `CAFE_ERR_VALIDATION` naming the field;
 * malformed JSON, non-JSON bodies and too-large bodies are 4xx; unknown routes are 404
 * `CAFE_ERR_NOT_FOUND`. Only JSON bodies are accepted (text/plain is refused with 415).
 *
 * @example
 * ```ts
 * await app.register(errorsPlugin);
 * ```
 */
export const errorsPlugin = fp(
  async (app) => {
    // The kit's APIs take JSON only; Fastify's default text/plain parser would let a text body
    // reach validation and answer 400 where the Express services answer 415.
    app.removeContentTypeParser('text/plain');

    app.setErrorHandler((err, request, reply) => {
      const schema = request.routeOptions.schema as Record<string, unknown> | undefined;
      const cafe = toCafeError(err, (part) => schema?.[part]);
      if (cafe.statusCode >= 500) request.log.error({ err }, 'request failed');
      else request.log.debug({ code: cafe.code, message: cafe.message }, 'request refused');
      reply
        .code(cafe.statusCode)
        .headers(errorHeaders(cafe))
        .send({ error: { code: cafe.code, message: cafe.message } });
    });

    app.setNotFoundHandler((request: FastifyRequest, reply) => {
      const cafe = new CafeError(
        'CAFE_ERR_NOT_FOUND',
        `no route ${request.method} ${request.url.split('?')[0]}`,
      );
      reply.code(cafe.statusCode).send({ error: { code: cafe.code, message: cafe.message } });
    });
  },
  { name: 'cafe-errors', fastify: '5.x' },
);
