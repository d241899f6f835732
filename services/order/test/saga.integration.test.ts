import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { type PaymentResult, QUEUES } from '@cloudcafe/contracts';
import t, { type Test } from 'tap';
import { type OrderStatus, TERMINAL_STATUSES } from '../src/model.js';
import {
  admin,
  api,
  customer,
  eventually,
  freshSku,
  lab,
  type OrderView,
  order,
  ordersDb,
  paymentInLab,
  sqs,
  stock,
  stockLaneQuiet,
  toxiproxy,
} from './support/lab.js';

// Integration tests of the order saga against the real engines of the running lab, through the
// gateway. The payment service may not run in this lab, so these tests play it: they publish
// PaymentResult messages on the results queue themselves.

interface Accepted {
  orderId: string;
  status: string;
}
interface ErrorBody {
  error: { code: string; message: string };
}

const place = (
  customerId: string,
  items: { sku: string; quantity: number }[],
  headers: Record<string, string> = {},
) => api<Accepted & ErrorBody>('POST', '/api/orders', { customerId, items }, headers);

async function publishResult(result: Omit<PaymentResult, 'type' | 'at'>): Promise<void> {
  const client = sqs();
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentResults }));
  const body: PaymentResult = { type: 'PaymentResult', at: new Date().toISOString(), ...result };
  await client.send(
    new SendMessageCommand({
      QueueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: result.orderId,
      MessageDeduplicationId: `${result.orderId}:${result.outcome}:${Date.now()}`,
    }),
  );
  client.destroy();
}

async function statusBecomes(orderId: string, status: string): Promise<OrderView> {
  let last: OrderView | undefined;
  try {
    await eventually(
      `order ${orderId} to be ${status}`,
      async () => {
        last = await order(orderId);
        return last.status === status;
      },
      60_000,
    );
  } catch (err) {
    // Say where it stopped: a stuck `paid` and a wrong terminal state need different fixes.
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last?.history)}`);
  }
  return order(orderId);
}

/** Orders accepted by earlier tests in this file: in a full lab, still being paid and committed. */
const soldEarlier: string[] = [];

t.test(
  '200 concurrent buyers on 50 units: exactly 50 accepted, the rest 409 out of stock, no 5xx',
  async (t) => {
    // Prepare
    const sku = await freshSku(50);
    // Act
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => place(customer(), [{ sku, quantity: 1 }])),
    );
    // Assess
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status === 409);
    soldEarlier.push(...accepted.map((a) => a.body.orderId));
    t.equal(accepted.length, 50, 'exactly the stock was sold');
    t.equal(refused.length, 150, 'everyone else heard 409');
    t.ok(
      refused.every(
        (a) => a.body.error.code === 'CAFE_ERR_OUT_OF_STOCK' && a.body.error.message.includes(sku),
      ),
      'each refusal says out of stock and names the sku',
    );
    t.equal(answers.filter((a) => a.status >= 500).length, 0, 'no 5xx');
    t.equal(new Set(accepted.map((a) => a.body.orderId)).size, 50, '50 distinct orders');
    await eventually('stock to settle', async () => {
      const s = await stock(sku);
      // Reserved, or already sold where the lab's payment service confirmed them meanwhile.
      return s.available === 0 && s.reserved + s.sold === 50;
    });
  },
);

/** Places `buyers` orders of one unit of `sku` at once; each answer with its status. */
async function burst(sku: string, buyers: number) {
  return Promise.all(
    Array.from({ length: buyers }, async () => {
      const res = await fetch(`${lab().gateway}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: customer(), items: [{ sku, quantity: 1 }] }),
        signal: AbortSignal.timeout(30_000),
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as Accepted & ErrorBody,
      };
    }),
  );
}

/** Slows every DynamoDB answer to inventory by `latency` ms until the test ends. */
async function slowStockLane(t: Test, latency: number): Promise<() => Promise<void>> {
  // Committing an accepted order goes through the same lanes, so the earlier sale's commits
  // (slowed by the toxic too) would be measured with the burst: start from a quiet lane.
  if (paymentInLab()) {
    await eventually(
      'the earlier sale to be paid and committed',
      async () => {
        const views = await Promise.all(soldEarlier.map(order));
        return views.every((v) => TERMINAL_STATUSES.includes(v.status as OrderStatus));
      },
      120_000,
    );
  }
  await stockLaneQuiet();
  const proxy = toxiproxy();
  await proxy.addToxic('inventory-to-dynamodb', {
    name: 'slow-stock-lane',
    type: 'latency',
    stream: 'downstream',
    attributes: { latency, jitter: 0 },
  });
  const healed = async () => {
    await proxy.removeToxic('inventory-to-dynamodb', 'slow-stock-lane').catch(() => {});
  };
  t.teardown(healed);
  return healed;
}

t.test('a burst on a slowed stock lane is served in a few writes, not shed', async (t) => {
  // Prepare: every DynamoDB answer to inventory 400 ms late. One write at a time per buyer
  // would serve about two a second; the SKU's lane writes every buyer waiting in one go.
  const sku = await freshSku(100);
  await place(customer(), [{ sku, quantity: 1 }]); // prices cached, the lane has read the SKU
  const healed = await slowStockLane(t, 400);
  // Act
  const answers = await burst(sku, 40);
  await healed();
  // Assess
  t.equal(answers.filter((a) => a.status >= 500).length, 0, 'no 5xx');
  t.same(
    answers.filter((a) => a.status !== 202).map((a) => `${a.status} ${a.body.error?.code}`),
    [],
    'every buyer served while units remain: no 429, no 409',
  );
  await eventually('the stock to show exactly the accepted orders', async () => {
    const s = await stock(sku);
    return s.reserved + s.sold === 41 && s.available === 59;
  });
});

t.test(
  'a burst beyond what the stock lane serves within the budget: the excess hears 429 with Retry-After, nothing is reserved for it, no 5xx',
  async (t) => {
    // Prepare: DynamoDB answers 2 s late, so within inventory's budget (RESERVATION_MAX_WAIT_MS,
    // 8 s, less one call for the record) the SKU's lane writes about three times, at most 100
    // buyers a write (STOCK_MAX_OPS_PER_WRITE): 300 buyers at once cannot all be taken in time.
    const sku = await freshSku(1000);
    await place(customer(), [{ sku, quantity: 1 }]);
    const healed = await slowStockLane(t, 2000);
    // Act
    const answers = await burst(sku, 300);
    await healed();
    // Assess
    const accepted = answers.filter((a) => a.status === 202);
    const shed = answers.filter((a) => a.status === 429);
    t.equal(answers.filter((a) => a.status >= 500).length, 0, 'no 5xx: nobody waited into a timeout');
    t.equal(accepted.length + shed.length, 300, 'every answer is a sale or a shed');
    t.ok(accepted.length > 0, `some were served (${accepted.length})`);
    t.ok(shed.length > 0, `the excess was shed (${shed.length})`);
    t.ok(
      shed.every((a) => a.body.error.code === 'CAFE_ERR_RATE_LIMITED' && Number(a.retryAfter) >= 1),
      'each shed answer has the stable code and a Retry-After',
    );
    // "shed before the order service timed out on inventory" is the no-5xx check above: that
    // timeout answers 504. A clock here would also count the 300 requests' own queueing on a
    // busy machine, which says nothing about the service.
    await eventually('the stock to show exactly the accepted orders', async () => {
      const s = await stock(sku);
      return s.reserved + s.sold === accepted.length + 1 && s.available === 999 - accepted.length;
    });
  },
);

t.test('a multi-item order with one SKU short reserves nothing', async (t) => {
  // Prepare
  const plenty = await freshSku(10);
  const short = await freshSku(1);
  // Act
  const answer = await place(customer(), [
    { sku: plenty, quantity: 3 },
    { sku: short, quantity: 2 },
  ]);
  // Assess
  t.equal(answer.status, 409);
  t.equal(answer.body.error.code, 'CAFE_ERR_OUT_OF_STOCK');
  t.match(answer.body.error.message, short, 'the short sku is named');
  t.same(
    await stock(plenty),
    { ...(await stock(plenty)), available: 10, reserved: 0 },
    'the other line was not taken',
  );
  t.match(await stock(short), { available: 1, reserved: 0 });
});

t.test('Idempotency-Key: same body replays the answer, another body is a conflict', async (t) => {
  // Prepare
  const sku = await freshSku(5);
  const key = `key-${Date.now()}-${Math.random()}`;
  const who = customer();
  // Act
  const first = await place(who, [{ sku, quantity: 2 }], { 'idempotency-key': key });
  const replay = await place(who, [{ sku, quantity: 2 }], { 'idempotency-key': key });
  const other = await place(who, [{ sku, quantity: 3 }], { 'idempotency-key': key });
  // Assess
  t.equal(first.status, 202);
  t.equal(replay.status, 202);
  t.same(replay.body, first.body, 'the same answer, the same order');
  t.equal(other.status, 409);
  t.equal(other.body.error.code, 'CAFE_ERR_CONFLICT');
  t.match(await stock(sku), { available: 3, reserved: 2 }, 'stock was taken once');
});

t.test('concurrent requests with one Idempotency-Key make one order', async (t) => {
  const sku = await freshSku(20);
  const key = `race-${Date.now()}-${Math.random()}`;
  const who = customer();
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => place(who, [{ sku, quantity: 1 }], { 'idempotency-key': key })),
  );
  t.ok(
    answers.every((a) => a.status === 202),
    `all answered 202 (${answers.map((a) => a.status).join(',')})`,
  );
  t.equal(new Set(answers.map((a) => a.body.orderId)).size, 1, 'one order id');
  t.match(await stock(sku), { available: 19, reserved: 1 });
});

t.test('cancel before the payment request leaves releases the stock', async (t) => {
  // Prepare: with SQS unreachable the payment request cannot leave the outbox
  const proxy = toxiproxy();
  const sku = await freshSku(4);
  await proxy.setEnabled('order-to-sqs', false);
  t.teardown(() => proxy.setEnabled('order-to-sqs', true));
  const placed = await place(customer(), [{ sku, quantity: 3 }]);
  t.equal(placed.status, 202);
  await eventually('the reservation to be taken', async () => (await stock(sku)).reserved === 3);
  // Act
  const cancelled = await api<OrderView>('POST', `/api/orders/${placed.body.orderId}/cancel`);
  // Assess
  t.equal(cancelled.status, 200);
  t.equal(cancelled.body.status, 'cancelled');
  await eventually('the stock to come back', async () => {
    const s = await stock(sku);
    return s.available === 4 && s.reserved === 0;
  });
  const again = await api<OrderView>('POST', `/api/orders/${placed.body.orderId}/cancel`);
  t.equal(again.status, 200, 'cancelling twice is harmless');
  t.match(await stock(sku), { available: 4, reserved: 0 }, 'and releases nothing twice');
});

t.test('cancelling right after acceptance, racing the outbox relay, never answers 5xx', async (t) => {
  // Prepare: the relay picks a new order up within milliseconds, so a cancel sent at once
  // contends with it for the same rows — the race that once ended in a deadlock and a 502
  const sku = await freshSku(40);
  const placed = await Promise.all(
    Array.from({ length: 12 }, () => place(customer(), [{ sku, quantity: 1 }])),
  );
  for (const p of placed) t.equal(p.status, 202, 'accepted');
  // Act
  const answers = await Promise.all(
    placed.map((p) =>
      api<OrderView>('POST', `/api/orders/${(p.body as { orderId: string }).orderId}/cancel`),
    ),
  );
  // Assess: each cancel either wins (200) or is too late (409), never a server error
  for (const a of answers) t.ok(a.status === 200 || a.status === 409, `cancel answered ${a.status}`);
  const cancelled = answers.filter((a) => a.status === 200).length;
  await eventually(
    'the cancelled units to come back',
    async () => (await stock(sku)).available >= 40 - (12 - cancelled),
  );
  t.pass(`${cancelled} of 12 cancelled in time, the rest refused cleanly`);
});

t.test('an order whose payment was requested cannot be cancelled', async (t) => {
  // Prepare
  const db = ordersDb();
  t.teardown(() => db.end());
  const sku = await freshSku(2);
  const placed = await place(customer(), [{ sku, quantity: 1 }]);
  await eventually('the payment request to leave the outbox', async () => {
    const { rows } = await db.query('SELECT payment_requested_at FROM orders WHERE order_id = $1', [
      placed.body.orderId,
    ]);
    return rows[0]?.payment_requested_at != null;
  });
  // Act
  const res = await api<ErrorBody>('POST', `/api/orders/${placed.body.orderId}/cancel`);
  // Assess
  t.equal(res.status, 409);
  t.equal(res.body.error.code, 'CAFE_ERR_ORDER_NOT_CANCELLABLE');
  // Reserved while the payment is pending, sold once it is charged (when the payment service is
  // in the lab it may already be): either way the refused cancel released nothing.
  const after = await stock(sku);
  t.equal(after.reserved + after.sold, 1, 'the unit stays reserved or sold for the payment');
  t.equal(after.available, 1, 'nothing was released back');
});

t.test('a charged result confirms the order and sells the stock; a repeat changes nothing', async (t) => {
  // Prepare
  const sku = await freshSku(3, 450);
  const placed = await place(customer(), [{ sku, quantity: 2 }]);
  t.equal(placed.status, 202);
  const { orderId } = placed.body;
  // Act
  await publishResult({ orderId, outcome: 'charged', chargeId: `ch-${orderId}`, amountCents: 900 });
  // Assess
  const confirmed = await statusBecomes(orderId, 'confirmed');
  t.same(
    confirmed.history.map((h) => h.status),
    ['pending', 'paid', 'confirmed'],
    'pending → paid → confirmed',
  );
  await eventually('the stock to be sold', async () => {
    const s = await stock(sku);
    return s.sold === 2 && s.reserved === 0 && s.available === 1;
  });
  const skipped = async () => {
    const text = await (await fetch(`${lab().gateway}/api/orders/metrics`)).text();
    return Number(
      /^events_duplicate_skipped_total\{[^}]*consumer="order"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0,
    );
  };
  const before = await skipped();
  await publishResult({ orderId, outcome: 'charged', chargeId: `ch-${orderId}`, amountCents: 900 });
  await publishResult({ orderId, outcome: 'declined', amountCents: 900, reason: 'late duplicate' });
  await eventually('both repeats to be consumed and skipped', async () => (await skipped()) >= before + 2);
  t.equal((await order(orderId)).status, 'confirmed', 'still confirmed');
  t.match(await stock(sku), { sold: 2, reserved: 0, available: 1 }, 'nothing moved twice');
});

t.test('a declined result fails the order and releases its stock', async (t) => {
  const sku = await freshSku(3);
  const placed = await place(customer(), [{ sku, quantity: 3 }]);
  const { orderId } = placed.body;
  await publishResult({ orderId, outcome: 'declined', amountCents: 1500, reason: 'card_declined' });
  const failed = await statusBecomes(orderId, 'payment_failed');
  t.equal(failed.reason, 'card_declined');
  await eventually('the stock to come back', async () => {
    const s = await stock(sku);
    return s.available === 3 && s.reserved === 0 && s.sold === 0;
  });
});

t.test('a long poll answers when the order moves on, with the new status', async (t) => {
  const sku = await freshSku(2);
  const placed = await place(customer(), [{ sku, quantity: 1 }]);
  const { orderId } = placed.body;
  // Parked before the result exists (the order is pending until a payment result arrives)
  const read = api<OrderView>('GET', `/api/orders/${orderId}?waitSeconds=20`);
  await publishResult({ orderId, outcome: 'declined', amountCents: 500, reason: 'card_declined' });
  const answered = await read;
  t.equal(answered.status, 200);
  // A wait that ran out would answer `pending`: the answer carries the change that woke it.
  t.not(answered.body.status, 'pending', `woken by the change: ${answered.body.status}`);
  t.ok(answered.body.history.length >= 2, 'with its history');
});

t.test('orders list by customer, newest first, with a cursor', async (t) => {
  const sku = await freshSku(10);
  const who = customer();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await place(who, [{ sku, quantity: 1 }])).body.orderId);
  const anonymous = await api('GET', `/api/orders?customerId=${who}&limit=2`);
  t.equal(anonymous.status, 401, "every customer's orders are not for anyone to list");
  const first = await api<{ items: { orderId: string }[]; nextCursor?: string }>(
    'GET',
    `/api/orders?customerId=${who}&limit=2`,
    undefined,
    admin(),
  );
  t.equal(first.status, 200);
  t.same(
    first.body.items.map((o) => o.orderId),
    [ids[2], ids[1]],
  );
  t.ok(first.body.nextCursor, 'a next page');
  const second = await api<{ items: { orderId: string }[]; nextCursor?: string }>(
    'GET',
    `/api/orders?customerId=${who}&limit=2&cursor=${first.body.nextCursor}`,
    undefined,
    admin(),
  );
  t.same(
    second.body.items.map((o) => o.orderId),
    [ids[0]],
  );
  t.notOk(second.body.nextCursor, 'the last page');
});

t.test('admin restock needs the token', async (t) => {
  const sku = await freshSku(0);
  const denied = await api('POST', `/api/inventory/${sku}/restock`, { quantity: 5 });
  t.equal(denied.status, 401);
  const ok = await api('POST', `/api/inventory/${sku}/restock`, { quantity: 5 }, admin());
  t.equal(ok.status, 200);
});
