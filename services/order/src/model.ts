import { createHash } from 'node:crypto';
import { Sku } from '@cloudcafe/contracts';
import Type, { type Static } from 'typebox';

export const ORDER_STATUSES = ['pending', 'paid', 'confirmed', 'payment_failed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const TERMINAL_STATUSES: readonly OrderStatus[] = ['confirmed', 'payment_failed', 'cancelled'];

export const CURRENCY = 'USD';
/** The contracts cap one line at 100 units; lines of the same SKU are merged before that check. */
export const MAX_UNITS_PER_SKU = 100;

export const CustomerId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
export const OrderId = Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' });

export const NewOrder = Type.Object(
  {
    customerId: CustomerId,
    items: Type.Array(
      Type.Object(
        { sku: Sku, quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 20 },
    ),
  },
  { additionalProperties: false },
);
export type NewOrder = Static<typeof NewOrder>;

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: '^[\\x21-\\x7E]{1,128}$' })),
});

export const Accepted = Type.Object({ orderId: Type.String(), status: Type.Enum(ORDER_STATUSES) });
export type Accepted = Static<typeof Accepted>;

const Line = Type.Object({ sku: Type.String(), quantity: Type.Integer(), unitPriceCents: Type.Integer() });

export const OrderSummary = Type.Object({
  orderId: Type.String(),
  customerId: Type.String(),
  status: Type.Enum(ORDER_STATUSES),
  reason: Type.Optional(Type.String()),
  items: Type.Array(Line),
  totalCents: Type.Integer(),
  currency: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type OrderSummary = Static<typeof OrderSummary>;

export const OrderView = Type.Object({
  ...OrderSummary.properties,
  history: Type.Array(
    Type.Object({
      status: Type.Enum(ORDER_STATUSES),
      at: Type.String({ format: 'date-time' }),
      reason: Type.Optional(Type.String()),
    }),
  ),
});
export type OrderView = Static<typeof OrderView>;

export const OrderPage = Type.Object({
  items: Type.Array(OrderSummary),
  nextCursor: Type.Optional(Type.String()),
});
export type OrderPage = Static<typeof OrderPage>;

export const ListQuery = Type.Object(
  {
    customerId: Type.Optional(CustomerId),
    status: Type.Optional(Type.Enum(ORDER_STATUSES)),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

/** The longest a reader may park on `GET /api/orders/:id`: well inside any proxy's idle timeout. */
export const MAX_WAIT_SECONDS = 20;

export const ReadQuery = Type.Object(
  {
    waitSeconds: Type.Integer({
      minimum: 0,
      maximum: MAX_WAIT_SECONDS,
      default: 0,
      description:
        'Long poll: when the order is not terminal, answer once its status changes or after this many seconds',
    }),
  },
  { additionalProperties: false },
);

/**
 * The order id an Idempotency-Key stands for: derived, so two concurrent requests with the
 * same key reserve the same order at inventory (idempotent there too) instead of racing.
 */
export function orderIdForKey(key: string): string {
  const h = createHash('sha256').update(`idempotency:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What makes two requests "the same" for an Idempotency-Key: the body, canonically. */
export function requestHash(body: NewOrder): string {
  const canonical = { customerId: body.customerId, items: body.items.map((l) => [l.sku, l.quantity]) };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
