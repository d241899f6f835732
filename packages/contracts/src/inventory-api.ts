import Type, { type Static } from 'typebox';

/**
 * The inventory service's HTTP API as the order service calls it (synchronously, on the accept
 * path): one reservation per order, keyed by orderId, so every call is idempotent by order.
 * Prices are integer cents, like every amount in CloudCafe.
 */

export const Sku = Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{0,63}$', description: 'Upper-case SKU' });

export const ReservationItemRequest = Type.Object(
  { sku: Sku, quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
  { additionalProperties: false },
);
export type ReservationItemRequest = Static<typeof ReservationItemRequest>;

/** `POST /api/inventory/reservations`: all items or none. */
export const CreateReservation = Type.Object(
  {
    orderId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }),
    items: Type.Array(ReservationItemRequest, { minItems: 1, maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type CreateReservation = Static<typeof CreateReservation>;

/**
 * held: stock taken from `available`, released by the inventory sweeper at `expiresAt` unless
 * attached. attached: the order committed; no expiry. committed: paid, counted as sold.
 * released: stock returned.
 */
export const RESERVATION_STATUSES = ['held', 'attached', 'committed', 'released'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

export const Reservation = Type.Object({
  orderId: Type.String(),
  status: Type.Enum(RESERVATION_STATUSES),
  items: Type.Array(
    Type.Object({
      sku: Type.String(),
      quantity: Type.Integer({ minimum: 1 }),
      unitPriceCents: Type.Integer({ minimum: 0 }),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Only while held' })),
  reason: Type.Optional(Type.String({ description: 'Why it was released' })),
});
export type Reservation = Static<typeof Reservation>;

/** `GET /api/inventory/:sku`. */
export const InventoryItem = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  category: Type.String(),
  price: Type.Integer({ minimum: 0, description: 'Unit price in cents' }),
  available: Type.Integer({ minimum: 0 }),
  reserved: Type.Integer({ minimum: 0 }),
  sold: Type.Integer({ minimum: 0 }),
});
export type InventoryItem = Static<typeof InventoryItem>;
