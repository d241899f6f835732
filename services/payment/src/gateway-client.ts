/**
 * The card processor's charge API. Its answers sort into three kinds, and the handler treats
 * them differently: a capture (201, or 200 replaying an earlier capture for the same
 * Idempotency-Key), a decline (402: final, a result for the order), and everything else — 5xx,
 * timeouts, refused connections — which is transient: the message goes back to the queue.
 */

export interface ChargeRequest {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
}

export type ChargeAnswer =
  | { readonly kind: 'captured'; readonly chargeId: string; readonly replayed: boolean }
  | { readonly kind: 'declined'; readonly reason: string };

/** A failure worth retrying later: the gateway did not give a final answer. */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';
  constructor(
    message: string,
    readonly reason: 'gateway_error' | 'timeout',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The gateway refused the request itself (a 4xx other than a decline, a timeout or a rate
 * limit): sending it again cannot help, so the message goes to the DLQ, which alarms.
 */
export class GatewayRefusedError extends Error {
  override readonly name = 'GatewayRefusedError';
}

/** 4xx answers that mean "later", not "never". */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 425, 429]);

interface GatewayCharge {
  chargeId?: string;
  status?: string;
  declineReason?: string;
  replayed?: boolean;
}

export async function charge(
  baseUrl: string,
  request: ChargeRequest,
  timeoutMs: number,
): Promise<ChargeAnswer> {
  let res: Response;
  try {
    res = await fetch(new URL('/api/payment-gateway/v1/charges', baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': request.orderId },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new GatewayUnavailableError(
      timedOut
        ? `gateway timed out after ${timeoutMs} ms`
        : `gateway unreachable: ${(error as Error).message}`,
      timedOut ? 'timeout' : 'gateway_error',
      { cause: error },
    );
  }
  const body = (await res.json().catch(() => ({}))) as GatewayCharge;
  if ((res.status === 200 || res.status === 201) && body.chargeId && body.status === 'captured') {
    return { kind: 'captured', chargeId: body.chargeId, replayed: body.replayed === true };
  }
  if (res.status === 402) return { kind: 'declined', reason: body.declineReason ?? 'card_declined' };
  if (res.status >= 400 && res.status < 500 && !RETRYABLE_CLIENT_STATUSES.has(res.status)) {
    throw new GatewayRefusedError(`gateway refused the charge request with ${res.status}`);
  }
  throw new GatewayUnavailableError(`gateway answered ${res.status}`, 'gateway_error');
}
