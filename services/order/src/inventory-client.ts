import type { Reservation, ReservationItemRequest } from '@cloudcafe/contracts';
import {
  CafeError,
  callDependency,
  ERROR_CODES,
  type ErrorCode,
  type ServiceApp,
  serviceAuthHeaders,
} from '@cloudcafe/kit';

/** What inventory answered when it refused: its status and stable code, kept for the caller. */
export class InventoryRefusal extends CafeError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    retryAfterSeconds?: number,
  ) {
    super(code, message, { retryAfterSeconds });
  }
}

/**
 * The inventory service's reservation API, over HTTP through the `order-to-inventory` link.
 * Every call is idempotent by order, so the outbox relay may repeat any of them.
 */
export class InventoryClient {
  constructor(
    private readonly app: ServiceApp,
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  reserve(orderId: string, items: readonly ReservationItemRequest[]): Promise<Reservation> {
    return this.call('POST', '/api/inventory/reservations', { orderId, items });
  }

  transition(orderId: string, action: 'attach' | 'commit' | 'release'): Promise<Reservation> {
    return this.call('POST', `/api/inventory/reservations/${encodeURIComponent(orderId)}/${action}`);
  }

  private call(method: string, path: string, body?: unknown): Promise<Reservation> {
    return callDependency(this.app, 'inventory', async () => {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...serviceAuthHeaders(this.app.config.SERVICE_TOKEN),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as Reservation;
      const code = errorCodeOf(text);
      if (res.status < 500 && code) {
        const retryAfter = Number(res.headers.get('retry-after'));
        throw new InventoryRefusal(
          res.status,
          code,
          errorMessageOf(text),
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
        );
      }
      throw new CafeError('CAFE_ERR_DEPENDENCY_FAILED', `inventory answered ${res.status}`);
    });
  }
}

function errorCodeOf(text: string): ErrorCode | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : undefined;
  } catch {
    return undefined;
  }
}

function errorMessageOf(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? message : 'inventory refused';
  } catch {
    return 'inventory refused';
  }
}
