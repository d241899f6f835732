import t from 'tap';
import Value from 'typebox/value';
import { OrderEvent, PaymentRequested, PaymentResult } from '../src/index.js';

const event = {
  type: 'OrderConfirmed',
  eventId: 'evt-1',
  orderId: 'ord-1',
  customerId: 'cus-1',
  occurredAt: '2026-11-21T08:00:00.000Z',
  totalCents: 950,
  currency: 'USD',
  items: [{ sku: 'LATTE-12', quantity: 2, unitPriceCents: 475 }],
};

t.test('an order event with every field validates', async (t) => {
  t.ok(Value.Check(OrderEvent, event));
});

t.test('an order event of an unknown type, or with a float price, is refused', async (t) => {
  t.notOk(Value.Check(OrderEvent, { ...event, type: 'OrderShipped' }));
  t.notOk(Value.Check(OrderEvent, { ...event, items: [{ sku: 'X', quantity: 1, unitPriceCents: 4.75 }] }));
  t.notOk(Value.Check(OrderEvent, { ...event, extra: true }), 'unknown fields are refused');
});

t.test('payment messages carry integer cents and a known outcome', async (t) => {
  const request = {
    type: 'PaymentRequested',
    orderId: 'ord-1',
    customerId: 'cus-1',
    amountCents: 950,
    currency: 'USD',
    requestedAt: '2026-11-21T08:00:00.000Z',
  };
  t.ok(Value.Check(PaymentRequested, request));
  t.notOk(Value.Check(PaymentRequested, { ...request, amountCents: -1 }));
  const result = {
    type: 'PaymentResult',
    orderId: 'ord-1',
    outcome: 'charged',
    amountCents: 950,
    at: request.requestedAt,
  };
  t.ok(Value.Check(PaymentResult, result));
  t.notOk(Value.Check(PaymentResult, { ...result, outcome: 'maybe' }));
});
