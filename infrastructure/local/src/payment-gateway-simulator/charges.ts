import { randomUUID } from 'node:crypto';

/**
 * The simulated card processor's ledger. Like a real gateway it honours an idempotency key (a
 * retried request with the same key gets the first answer back), and it keeps every capture, so
 * the invariant auditor can count charges per order from the gateway's side as well as from
 * CloudCafe's own ledger.
 */

export interface ChargeRequest {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
}

export interface Charge extends ChargeRequest {
  readonly chargeId: string;
  readonly status: 'captured' | 'declined';
  readonly declineReason?: string;
  readonly createdAt: string;
  readonly idempotencyKey: string | undefined;
}

/** Customers whose id starts with this are always declined: a deterministic permanent failure. */
export const DECLINED_CUSTOMER_PREFIX = 'decline-';

export class ChargeLedger {
  private readonly charges: Charge[] = [];
  private readonly byKey = new Map<string, Charge>();

  charge(request: ChargeRequest, idempotencyKey: string | undefined): { charge: Charge; replayed: boolean } {
    const previous = idempotencyKey ? this.byKey.get(idempotencyKey) : undefined;
    if (previous) return { charge: previous, replayed: true };
    const declined = request.customerId.startsWith(DECLINED_CUSTOMER_PREFIX);
    const charge: Charge = {
      ...request,
      chargeId: `ch_${randomUUID()}`,
      status: declined ? 'declined' : 'captured',
      ...(declined ? { declineReason: 'card_declined' } : {}),
      createdAt: new Date().toISOString(),
      idempotencyKey,
    };
    this.charges.push(charge);
    if (idempotencyKey) this.byKey.set(idempotencyKey, charge);
    return { charge, replayed: false };
  }

  list(orderId?: string): Charge[] {
    return orderId ? this.charges.filter((c) => c.orderId === orderId) : [...this.charges];
  }
}
