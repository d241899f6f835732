import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, PurgeQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { QUEUES, TABLES } from '@cloudcafe/contracts';
import {
  awsEndpointUrl,
  HOST,
  labPaths,
  PORTS,
  readLabState,
  serviceTokenFile,
  ToxiproxyClient,
  waitFor,
} from '@cloudcafe/local-platform';
import { api } from '@cloudcafe/test-support/gateway';
import t from 'tap';
import { audit, type Invariant } from '../src/audit.js';

// Each invariant the issue said could not fail is made to fail here: the violation is planted
// through the real write path (the gateway's charge API, inventory's reservation API with the
// service credential, SQS), the audit must name it, and once the test repairs it (a refund, the
// counter put back, the DLQ emptied) the same invariant holds again — so the next test file
// audits a clean lab.

function lab() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}
const bearer = (file: string) => ({ authorization: `Bearer ${readFileSync(file, 'utf8').trim()}` });
const admin = () => bearer(lab().adminTokenFile);
const service = () => bearer(serviceTokenFile(labPaths()));
const SIMULATOR = `http://${HOST}:${PORTS.paymentGatewaySimulator}/api/payment-gateway/v1`;
const aws = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

interface Order {
  orderId: string;
  customerId: string;
  status: string;
  totalCents: number;
}
const customer = () => `planted-${randomBytes(4).toString('hex')}`;

async function place(customerId = customer()): Promise<Order> {
  const res = await api<Order>('POST', '/api/orders', {
    customerId,
    items: [{ sku: 'AMERICANO-12', quantity: 1 }],
  });
  if (res.status !== 202) throw new Error(`order not accepted: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...res.body, customerId };
}

async function settled(orderId: string, status: string): Promise<Order> {
  let order: Order | undefined;
  await waitFor(
    `order ${orderId} to be ${status}`,
    async () => {
      order = (await api<Order>('GET', `/api/orders/${orderId}`)).body;
      return order.status === status;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  return order as Order;
}

/** A capture at the gateway, as a payment service would send it. */
async function chargeAtGateway(order: Pick<Order, 'orderId' | 'customerId'>, idempotencyKey: string) {
  const res = await api<{ chargeId: string; status: string }>(
    'POST',
    `${SIMULATOR}/charges`,
    { orderId: order.orderId, customerId: order.customerId, amountCents: 450, currency: 'USD' },
    { 'idempotency-key': idempotencyKey },
  );
  if (res.status !== 201) throw new Error(`the gateway did not capture: ${res.status}`);
  return res.body.chargeId;
}
const refund = (chargeId: string) => api('POST', `${SIMULATOR}/charges/${chargeId}/refund`);

async function verdict(invariant: Invariant, acknowledgements?: string) {
  const [result] = await audit({
    only: [invariant],
    settleMs: 0,
    ...(acknowledgements && { acknowledgements }),
  });
  if (!result) throw new Error('no result');
  return result;
}
const healed = async (invariant: Invariant) => (await audit({ only: [invariant], settleMs: 60_000 }))[0];

t.test('no-double-charge fails on a second capture at the gateway, seen in its call log', async (t) => {
  // Prepare: an order paid the normal way, then charged again under another idempotency key
  const order = await place();
  await settled(order.orderId, 'confirmed');
  t.equal((await verdict('no-double-charge')).ok, true, 'one charge per order before');
  const second = await chargeAtGateway(order, `${order.orderId}:again`);

  // Act
  const result = await verdict('no-double-charge');

  // Assess
  t.equal(result.ok, false);
  t.match(result.examples, [`${order.orderId} ×2`]);
  t.ok(result.examples.some((e) => e.startsWith(`${order.orderId} captured beside the ledger's`)));
  t.equal((await refund(second)).status, 200);
  t.equal((await healed('no-double-charge'))?.ok, true, 'refunded, the order is charged once again');
});

t.test('stock-matches-orders fails on stock committed with no order behind it', async (t) => {
  // Prepare: the item 1, done by an insider holding the service credential. Test
  // files that play the order service (inventory's own) leave such stock behind on purpose, so
  // what this test owns is its SKU, and the baseline says what "clean again" means.
  const before = await verdict('stock-matches-orders');
  const sku = `PLANT-${randomBytes(4).toString('hex').toUpperCase()}`;
  t.equal((await api('PUT', `/api/inventory/${sku}`, { name: sku, price: 100 }, admin())).status, 200);
  t.equal((await api('POST', `/api/inventory/${sku}/restock`, { quantity: 10 }, admin())).status, 200);
  const orderId = `no-such-order-${randomBytes(4).toString('hex')}`;
  const held = await api(
    'POST',
    '/api/inventory/reservations',
    { orderId, items: [{ sku, quantity: 3 }] },
    service(),
  );
  t.equal(held.status, 201);
  t.equal(
    (await api('POST', `/api/inventory/reservations/${orderId}/commit`, undefined, service())).status,
    200,
  );
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...aws, endpoint: awsEndpointUrl('dynamodb') }),
  );
  t.teardown(() => dynamo.destroy());

  // Act
  const result = await verdict('stock-matches-orders');

  // Assess
  t.equal(result.ok, false);
  t.ok(result.examples.includes(`${sku} sold=3 > confirmed 0`), 'the planted SKU is named');
  // Repair: the counter goes back to what the orders bought (no API sells stock backwards).
  // The version is bumped, as restock does: inventory's stock lane caches the item and would
  // otherwise write its cached sold = 3 back with its next change to this SKU.
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLES.inventory,
      Key: { sku },
      UpdateExpression: 'SET sold = :zero, version = version + :one',
      ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
    }),
  );
  const after = before.ok ? await healed('stock-matches-orders') : await verdict('stock-matches-orders');
  t.equal(after?.ok, before.ok, 'as clean as before the plant');
  t.notOk(
    after?.examples.some((e) => e.startsWith(`${sku} `)),
    'the planted SKU is no longer named',
  );
});

t.test('no-charge-without-order fails on a charge for a cancelled order, until it is refunded', async (t) => {
  // Prepare: what the item 8 race produced (ADR 0016 closed it in the order service) —
  // the order is cancelled while its payment request waits in the outbox, and a charge for it
  // reaches the gateway anyway
  const before = await verdict('no-charge-without-order');
  const proxy = new ToxiproxyClient(`http://${HOST}:${lab().ports.toxiproxy}`);
  // A slow inventory link holds the attach (and so the payment request, written when it lands)
  // back; cutting the link while it is in flight fails it. So the cancel lands before any
  // payment request exists, and nothing can be in doubt (ADR 0016).
  await proxy.addToxic('order-to-inventory', {
    name: 'audit-planted-slow',
    type: 'latency',
    stream: 'downstream',
    attributes: { latency: 3000, jitter: 0 },
  });
  t.teardown(async () => {
    await proxy.setEnabled('order-to-inventory', true);
    await proxy.removeToxic('order-to-inventory', 'audit-planted-slow').catch(() => {});
  });
  const order = await place();
  await proxy.setEnabled('order-to-inventory', false);
  const cancelled = await api<Order>('POST', `/api/orders/${order.orderId}/cancel`);
  t.equal(cancelled.status, 200);
  t.equal(cancelled.body.status, 'cancelled');
  await proxy.setEnabled('order-to-inventory', true);
  await proxy.removeToxic('order-to-inventory', 'audit-planted-slow');
  const charge = await chargeAtGateway(order, order.orderId);

  // Act
  const result = await verdict('no-charge-without-order');

  // Assess
  t.equal(result.ok, false);
  t.ok(
    result.examples.some((e) => e.startsWith(`${order.orderId} charged, order cancelled`)),
    'the cancelled order is named',
  );
  t.equal((await refund(charge)).status, 200);
  const after = before.ok
    ? await healed('no-charge-without-order')
    : await verdict('no-charge-without-order');
  t.equal(after?.ok, before.ok, 'a refunded charge is not one: as clean as before');
  t.notOk(
    after?.examples.some((e) => e.startsWith(order.orderId)),
    'the order is no longer named',
  );
});

t.test(
  'no-lost-orders fails on an accepted order dead-lettered for a transient failure, and names it',
  async (t) => {
    // Prepare: what a 20 s gateway outage used to do — the order's request ends in the DLQ —
    // beside a poison message, which is reported but names no order
    const sqs = new SQSClient({ ...aws, endpoint: awsEndpointUrl('sqs') });
    t.teardown(() => sqs.destroy());
    const dlq = (await sqs.send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentRequestsDlq }))).QueueUrl;
    const order = await place();
    await settled(order.orderId, 'confirmed');
    const acks = `${mkdtempSync('/tmp/cloudcafe-planted-')}/acks.json`;
    writeFileSync(acks, JSON.stringify([order.orderId]));
    t.equal((await verdict('no-lost-orders', acks)).ok, true, 'clean before');
    t.teardown(() => sqs.send(new PurgeQueueCommand({ QueueUrl: dlq })));
    const request = {
      type: 'PaymentRequested',
      orderId: order.orderId,
      customerId: order.customerId,
      amountCents: 450,
      currency: 'USD',
      requestedAt: new Date().toISOString(),
    };
    for (const [body, dedup] of [
      [JSON.stringify(request), order.orderId],
      ['{"not":"a payment request"}', `poison-${order.orderId}`],
    ] as const) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: body,
          MessageGroupId: order.customerId,
          MessageDeduplicationId: dedup,
        }),
      );
    }

    // Act
    const result = await verdict('no-lost-orders', acks);

    // Assess
    t.equal(result.ok, false);
    t.match(result.examples, [`dead-lettered ${order.orderId} (confirmed)`]);
    t.match(result.detail, /1 dead-lettered \(not poison\).*1 poison in the DLQ/);
  },
);
