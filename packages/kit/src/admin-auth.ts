import { createHash, timingSafeEqual } from 'node:crypto';
import { CafeError } from './errors.js';

/** Checks `Authorization: Bearer <token>` headers against the admin token. */
export interface AdminAuth {
  /** True when the header carries the admin token. */
  verify(authorization: string | undefined): boolean;
  /** Throws `CAFE_ERR_UNAUTHORIZED` (401) unless the header carries the admin token. */
  assert(authorization: string | undefined): void;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Admin token checking in constant time: both sides are hashed to the same length first, so
 * neither the length nor a common prefix of a guess leaks through timing.
 *
 * @example
 * ```ts
 * const auth = createAdminAuth(config.ADMIN_TOKEN);
 * auth.assert(request.headers.authorization); // throws CAFE_ERR_UNAUTHORIZED
 * ```
 */
export function createAdminAuth(token: string): AdminAuth {
  if (token.length === 0) throw new Error('the admin token must not be empty');
  const expected = digest(token);
  const verify = (authorization: string | undefined): boolean => {
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    // Compare even when no token was presented, so that path takes the same time.
    const same = timingSafeEqual(digest(presented ?? ''), expected);
    return presented !== undefined && same;
  };
  return {
    verify,
    assert(authorization) {
      if (!verify(authorization)) {
        throw new CafeError('CAFE_ERR_UNAUTHORIZED', 'send the admin token as Authorization: Bearer <token>');
      }
    },
  };
}

/**
 * Checks the bearer on internal (service-to-service) routes: the service credential the
 * platform provides (local: generated at `lab up`; Kubernetes: a Secret; AWS: Secrets Manager),
 * or the admin token, so an operator can still repair a reservation by hand. Without a service
 * credential configured only the admin token passes: the routes fail closed, never open.
 *
 * @example
 * ```ts
 * const internal = createServiceAuth(config.ADMIN_TOKEN, config.SERVICE_TOKEN);
 * internal.assert(request.headers.authorization); // throws CAFE_ERR_UNAUTHORIZED
 * ```
 */
export function createServiceAuth(adminToken: string, serviceToken: string | undefined): AdminAuth {
  const admin = createAdminAuth(adminToken);
  const service = serviceToken === undefined ? undefined : createAdminAuth(serviceToken);
  // Both checks always run, so which credential matched does not show in the timing.
  const verify = (authorization: string | undefined): boolean => {
    const asService = service?.verify(authorization) ?? false;
    const asAdmin = admin.verify(authorization);
    return asService || asAdmin;
  };
  return {
    verify,
    assert(authorization) {
      if (!verify(authorization)) {
        throw new CafeError(
          'CAFE_ERR_UNAUTHORIZED',
          'internal route: send the service credential as Authorization: Bearer <token>',
        );
      }
    },
  };
}

/** The header a caller sends on internal routes; nothing when it has no credential. */
export function serviceAuthHeaders(serviceToken: string | undefined): Record<string, string> {
  return serviceToken === undefined ? {} : { authorization: `Bearer ${serviceToken}` };
}
