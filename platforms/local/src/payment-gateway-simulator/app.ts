import { buildServiceApp, CafeError, errorResponses, type KitConfig, type ServiceApp } from '@cloudcafe/kit';
import Type from 'typebox';
import { type Charge, ChargeLedger } from './charges.js';

/**
 * The payment gateway simulator: the external card processor the payment Lambda calls. Its
 * behaviour under chaos is driven by two fault flags, set through its admin routes like any
 * service's: `payment-gateway-failure-rate` (answers 503 `gateway_unavailable`, which the payment
 * service must retry) and `payment-gateway-latency` (waits before answering). Customers whose id
 * starts with `decline-` are always declined (402), a permanent failure.
 */

const ChargeBody = Type.Object(
  {
    orderId: Type.String({ minLength: 1, maxLength: 64 }),
    customerId: Type.String({ minLength: 1, maxLength: 64 }),
    amountCents: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  },
  { additionalProperties: false },
);

const ChargeView = Type.Object({
  chargeId: Type.String(),
  orderId: Type.String(),
  customerId: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: Type.Union([Type.Literal('captured'), Type.Literal('declined')]),
  declineReason: Type.Optional(Type.String()),
  createdAt: Type.String(),
  replayed: Type.Boolean({
    description: 'true when an earlier request with the same Idempotency-Key answered',
  }),
  refunded: Type.Boolean(),
});

const ChargeCallView = Type.Object({
  at: Type.String(),
  orderId: Type.String(),
  idempotencyKey: Type.Optional(Type.String()),
  outcome: Type.Enum(['captured', 'declined', 'replayed', 'unavailable']),
  chargeId: Type.Optional(Type.String()),
});

const OrderQuery = Type.Object(
  { orderId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);

export async function buildApp(config: KitConfig): Promise<ServiceApp> {
  const ledger = new ChargeLedger();
  const view = (charge: Charge, replayed: boolean) => {
    const { idempotencyKey: _key, ...rest } = charge;
    return { ...rest, replayed, refunded: ledger.isRefunded(charge.chargeId) };
  };
  return buildServiceApp({
    service: 'payment-gateway',
    config,
    routes: async (api) => {
      api.post(
        '/v1/charges',
        {
          schema: {
            body: ChargeBody,
            headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 128 })) }),
            response: { 201: ChargeView, 200: ChargeView, 402: ChargeView, ...errorResponses(400, 503) },
          },
        },
        async (request, reply) => {
          const delay = Number(api.flags.value('payment-gateway-latency'));
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
          if (Math.random() < Number(api.flags.value('payment-gateway-failure-rate'))) {
            ledger.unavailable(request.body.orderId, request.headers['idempotency-key']);
            throw new CafeError('CAFE_ERR_UNAVAILABLE', 'gateway_unavailable: try again later');
          }
          const { charge, replayed } = ledger.charge(request.body, request.headers['idempotency-key']);
          const status = charge.status === 'declined' ? 402 : replayed ? 200 : 201;
          return reply.code(status).send(view(charge, replayed));
        },
      );
      api.get(
        '/v1/charges',
        {
          schema: {
            querystring: OrderQuery,
            response: { 200: Type.Object({ charges: Type.Array(ChargeView) }) },
          },
        },
        async (request) => ({ charges: ledger.list(request.query.orderId).map((c) => view(c, false)) }),
      );
      api.get(
        '/v1/requests',
        {
          schema: {
            summary: 'Every charge request as it arrived, replays and turned-away ones included',
            querystring: OrderQuery,
            response: { 200: Type.Object({ requests: Type.Array(ChargeCallView) }) },
          },
        },
        async (request) => ({ requests: ledger.calls(request.query.orderId) }),
      );
      api.post(
        '/v1/charges/:chargeId/refund',
        {
          schema: {
            summary: 'Refunds a capture (compensation for a charge whose order did not go through)',
            params: Type.Object({ chargeId: Type.String({ minLength: 1, maxLength: 64 }) }),
            response: { 200: ChargeView, ...errorResponses(400, 404) },
          },
        },
        async (request) => {
          const charge = ledger.refund(request.params.chargeId);
          if (!charge) throw new CafeError('CAFE_ERR_NOT_FOUND', `no capture ${request.params.chargeId}`);
          return view(charge, false);
        },
      );
    },
  });
}
