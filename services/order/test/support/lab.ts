import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sumSeries } from '@cloudcafe/kit';
import { type LabState, labPaths, readLabState, ToxiproxyClient, waitFor } from '@cloudcafe/local-platform';
import { api } from '@cloudcafe/test-support/gateway';
import pg from 'pg';

/**
 * What the order tests need from the running lab (tap's before-hook brought it up): the
 * gateway, the admin token, direct clients for the engines behind the order service's links
 * (to look at the outbox and to play the payment service), and Toxiproxy to cut links.
 */
export function lab(): LabState {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  return state;
}

/** Whether the lab runs the payment service: then accepted orders go on to be paid and committed. */
export const paymentInLab = (): boolean => lab().services.some((s) => s.name === 'payment');

export const admin = (): Record<string, string> => ({
  authorization: `Bearer ${readFileSync(lab().adminTokenFile, 'utf8').trim()}`,
});

export const toxiproxy = (): ToxiproxyClient =>
  new ToxiproxyClient(`http://127.0.0.1:${lab().ports.toxiproxy}`);

/** The real engine behind one of the order service's links (not through the link). */
function upstream(link: string): number {
  const found = lab().links.find((l) => l.name === link);
  if (!found) throw new Error(`no link ${link} in the lab`);
  return found.upstreamPort;
}

export const sqs = (): SQSClient =>
  new SQSClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${upstream('order-to-sqs')}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

export const ordersDb = (): pg.Pool =>
  new pg.Pool({
    connectionString: `postgres://cloudcafe@127.0.0.1:${lab().ports.postgres}/cloudcafe_orders`,
    max: 2,
  });

// The gateway call every lab test makes, shared with the other packages' tests.
export { type Answer, api } from '@cloudcafe/test-support/gateway';

/** A fresh SKU with exactly `stock` units, so a test owns its numbers. */
export async function freshSku(stock: number, price = 500): Promise<string> {
  const sku = `TEST-${randomBytes(5).toString('hex').toUpperCase()}`;
  const created = await api(
    'PUT',
    `/api/inventory/${sku}`,
    { name: `Test ${sku}`, category: 'test', price },
    admin(),
  );
  if (created.status !== 200)
    throw new Error(`creating ${sku}: ${created.status} ${JSON.stringify(created.body)}`);
  if (stock > 0) {
    const restocked = await api('POST', `/api/inventory/${sku}/restock`, { quantity: stock }, admin());
    if (restocked.status !== 200) throw new Error(`restocking ${sku}: ${restocked.status}`);
  }
  return sku;
}

export interface Stock {
  available: number;
  reserved: number;
  sold: number;
}

export async function stock(sku: string): Promise<Stock> {
  // Straight from the table: a cached read may be a few seconds old.
  const res = await api<Stock>('GET', `/api/inventory/${sku}`, undefined, {});
  if (res.status !== 200) throw new Error(`stock of ${sku}: ${res.status}`);
  return res.body;
}

export interface OrderView {
  orderId: string;
  status: string;
  reason?: string;
  history: { status: string; reason?: string }[];
}

export const order = async (id: string): Promise<OrderView> =>
  (await api<OrderView>('GET', `/api/orders/${id}`)).body;

/** Polls until `check` holds; the message says what was awaited. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(what, check, { timeoutMs, intervalMs: 250 });
}

export const customer = (): string => `cust-${randomBytes(4).toString('hex')}`;

/** Calls holding or waiting for inventory's stock write lane right now (its gauge). */
async function stockLaneDepth(): Promise<number> {
  const text = await (await fetch(`${lab().gateway}/api/inventory/metrics`)).text();
  return sumSeries(text, 'inventory_lane_depth', { lane: 'stock write' });
}

/**
 * Waits until inventory's stock write lane has been empty for `quietMs`: work promised by
 * earlier tests (commits of orders the lab's payment service is still paying, the sweeper's
 * releases) goes ahead of new buyers, so a test that measures what new buyers get starts here.
 */
export async function stockLaneQuiet(quietMs = 2000): Promise<void> {
  let quietSince: number | undefined;
  await eventually(
    `inventory's stock write lane to stay empty for ${quietMs} ms`,
    async () => {
      if ((await stockLaneDepth()) > 0) quietSince = undefined;
      else quietSince ??= Date.now();
      return quietSince !== undefined && Date.now() - quietSince >= quietMs;
    },
    120_000,
  );
}
