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

/**
 * One charge request as it arrived, whatever the answer: the gateway's own call log. The
 * auditor counts charges from this, not from the deduplicated captures, so it sees a second
 * charge however it came about (a second idempotency key, none at all).
 */
export interface ChargeCall {
  readonly at: string;
  readonly orderId: string;
  readonly idempotencyKey: string | undefined;
  /** `replayed`: an earlier request with the same key answered; nothing new was charged. */
  readonly outcome: 'captured' | 'declined' | 'replayed' | 'unavailable';
  readonly chargeId?: string;
}

/** Customers whose id starts with this are always declined: a deterministic permanent failure. */
export const DECLINED_CUSTOMER_PREFIX = 'decline-';

/** The call log and the refunds are kept for a lab's life, bounded so a long soak cannot exhaust memory. */
const MAX_CALLS = 500_000;

export class ChargeLedger {
  private readonly charges: Charge[] = [];
  private readonly byKey = new Map<string, Charge>();
  private readonly byId = new Map<string, Charge>();
  private readonly callLog: ChargeCall[] = [];
  private readonly refunded = new Set<string>();

  charge(request: ChargeRequest, idempotencyKey: string | undefined): { charge: Charge; replayed: boolean } {
    const previous = idempotencyKey ? this.byKey.get(idempotencyKey) : undefined;
    if (previous) {
      this.log(request.orderId, idempotencyKey, 'replayed', previous.chargeId);
      return { charge: previous, replayed: true };
    }
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
    this.byId.set(charge.chargeId, charge);
    if (idempotencyKey) this.byKey.set(idempotencyKey, charge);
    this.log(request.orderId, idempotencyKey, charge.status, charge.chargeId);
    return { charge, replayed: false };
  }

  /** A request the gateway turned away (an injected outage): logged, nothing charged. */
  unavailable(orderId: string, idempotencyKey: string | undefined): void {
    this.log(orderId, idempotencyKey, 'unavailable');
  }

  /** Refunds a capture; undefined when there is no such capture. Refunding twice is a no-op. */
  refund(chargeId: string): Charge | undefined {
    const charge = this.byId.get(chargeId);
    if (charge?.status !== 'captured') return undefined;
    this.refunded.add(chargeId);
    return charge;
  }

  isRefunded(chargeId: string): boolean {
    return this.refunded.has(chargeId);
  }

  calls(orderId?: string): ChargeCall[] {
    return orderId ? this.callLog.filter((c) => c.orderId === orderId) : [...this.callLog];
  }

  private log(
    orderId: string,
    idempotencyKey: string | undefined,
    outcome: ChargeCall['outcome'],
    chargeId?: string,
  ): void {
    if (this.callLog.length >= MAX_CALLS) this.callLog.shift();
    this.callLog.push({
      at: new Date().toISOString(),
      orderId,
      idempotencyKey,
      outcome,
      ...(chargeId && { chargeId }),
    });
  }

  list(orderId?: string): Charge[] {
    return orderId ? this.charges.filter((c) => c.orderId === orderId) : [...this.charges];
  }
}
