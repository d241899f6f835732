import Type, { type Static } from 'typebox';

/**
 * What crosses a service boundary asynchronously. Producers and consumers validate against
 * these schemas; amounts are integer cents so no float ever touches money.
 */

const Id = Type.String({ minLength: 1, maxLength: 64 });
const Cents = Type.Integer({ minimum: 0, maximum: 100_000_000 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Timestamp = Type.String({ format: 'date-time' });

export const OrderLine = Type.Object(
  {
    sku: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 100 }),
    unitPriceCents: Cents,
  },
  { additionalProperties: false },
);
export type OrderLine = Static<typeof OrderLine>;

/** SQS FIFO `cloudcafe-payment-requests.fifo`: the order service asks for a charge. */
export const PaymentRequested = Type.Object(
  {
    type: Type.Literal('PaymentRequested'),
    orderId: Id,
    customerId: Id,
    amountCents: Cents,
    currency: Currency,
    requestedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type PaymentRequested = Static<typeof PaymentRequested>;

export const PAYMENT_OUTCOMES = ['charged', 'declined'] as const;

/**
 * SQS FIFO `cloudcafe-payment-results.fifo`: the payment service reports a final outcome.
 * Transient failures (gateway down) are not results: the request message is retried instead,
 * and after maxReceiveCount it lands in the DLQ.
 */
export const PaymentResult = Type.Object(
  {
    type: Type.Literal('PaymentResult'),
    orderId: Id,
    outcome: Type.Enum(PAYMENT_OUTCOMES),
    chargeId: Type.Optional(Type.String()),
    amountCents: Cents,
    reason: Type.Optional(Type.String({ maxLength: 200 })),
    at: Timestamp,
  },
  { additionalProperties: false },
);
export type PaymentResult = Static<typeof PaymentResult>;

export const ORDER_EVENT_TYPES = [
  'OrderPlaced',
  'OrderConfirmed',
  'OrderCancelled',
  'OrderPaymentFailed',
] as const;
export type OrderEventType = (typeof ORDER_EVENT_TYPES)[number];

/**
 * Kinesis `cloudcafe-order-events`, partition key = customerId. `eventId` is unique per event
 * (consumers deduplicate on it); `occurredAt` is event time (analytics windows use it).
 */
export const OrderEvent = Type.Object(
  {
    type: Type.Enum(ORDER_EVENT_TYPES),
    eventId: Id,
    orderId: Id,
    customerId: Id,
    occurredAt: Timestamp,
    totalCents: Cents,
    currency: Currency,
    items: Type.Array(OrderLine, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);
export type OrderEvent = Static<typeof OrderEvent>;

/**
 * Why the system itself (not the customer, not the card issuer) ended an accepted order. The
 * order service writes these reasons and the auditor's `no-system-cancellations` reads them:
 * each one is a promise broken, because an accepted order must survive a dependency outage.
 */
export const SYSTEM_END_REASONS = {
  /** The stock hold expired before the order could attach it (inventory unreachable too long). */
  reservationExpired: 'reservation_expired',
  /** No payment result after every request the order service sent. */
  paymentTimeout: 'payment_timeout',
  /** Charged, but the reservation was gone when it was to be committed. */
  reservationLost: 'reservation_lost: refund needed',
} as const;
