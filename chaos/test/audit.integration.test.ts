import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { HOST, PORTS } from '@cloudcafe/local-platform';
import pg from 'pg';
import t from 'tap';
import { audit, type InvariantResult } from '../src/audit.js';

// Against the shared lab: first the lab as it stands must audit clean; then a deliberately broken
// record (an order nobody paid for properly, charged twice, with no receipt) must be caught by
// every invariant it breaks, and the lab audits clean again once it is removed.

const verdicts = (results: readonly InvariantResult[]) =>
  Object.fromEntries(results.map((r) => [r.invariant, r.ok]));

t.test('the lab as it stands holds every invariant', async (t) => {
  const results = await audit({ settleMs: 90_000 });
  for (const r of results) t.ok(r.ok, `${r.invariant}: ${r.detail}`);
});

t.test('a lost order, a double charge and a confirmed order without a receipt are each caught', async (t) => {
  // Prepare: a confirmed order that went around the saga, charged twice at the gateway
  const db = new pg.Client({
    connectionString: `postgres://cloudcafe@${HOST}:${PORTS.postgres}/cloudcafe_orders`,
  });
  await db.connect();
  const orderId = `audit-test-${randomUUID()}`;
  const neverPlaced = `audit-test-missing-${randomUUID()}`;
  t.teardown(async () => {
    await db.query('DELETE FROM orders WHERE order_id = $1', [orderId]);
    await db.end();
  });
  await db.query(
    `INSERT INTO orders (order_id, customer_id, status, items, total_cents, currency)
     VALUES ($1, 'audit-test', 'confirmed', $2, 450, 'USD')`,
    [orderId, JSON.stringify([{ sku: 'AMERICANO-12', quantity: 1, unitPriceCents: 450 }])],
  );
  for (let i = 0; i < 2; i++) {
    const res = await fetch(
      `http://${HOST}:${PORTS.paymentGatewaySimulator}/api/payment-gateway/v1/charges`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, customerId: 'audit-test', amountCents: 450, currency: 'USD' }),
      },
    );
    t.equal(res.status, 201, 'a capture without an idempotency key');
  }
  const acks = `${mkdtempSync('/tmp/cloudcafe-audit-')}/acks.json`;
  writeFileSync(acks, JSON.stringify([orderId, neverPlaced]));

  // Act
  const results = await audit({ acknowledgements: acks, settleMs: 0 });

  // Assess
  t.match(verdicts(results), {
    'no-lost-orders': false,
    'no-double-charge': false,
    'receipts-present': false,
    'loyalty-reconciles': false,
    'analytics-reconciles': false,
  });
  const byName = Object.fromEntries(results.map((r) => [r.invariant, r]));
  t.match(byName['no-lost-orders']?.examples, [`missing ${neverPlaced}`]);
  t.match(byName['no-double-charge']?.examples, [`${orderId} ×2`]);
  t.match(byName['receipts-present']?.examples, [orderId]);
  t.match(byName['loyalty-reconciles']?.detail, /orders \d+\/\d+/);

  // and once the broken record is gone, the lab audits clean again
  await db.query('DELETE FROM orders WHERE order_id = $1', [orderId]);
  const after = await audit({ settleMs: 30_000 });
  for (const r of after) t.ok(r.ok, `after cleanup, ${r.invariant}: ${r.detail}`);
});
