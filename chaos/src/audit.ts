import { existsSync, readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
// the documented points rule itself, so the audit and the service cannot drift apart
import {
  BUCKETS,
  PaymentRequested,
  pointsFor,
  QUEUES,
  receiptKey,
  SYSTEM_END_REASONS,
  TABLES,
} from '@cloudcafe/contracts';
import pg from 'pg';
import Value from 'typebox/value';
import { INVARIANTS, type Invariant } from './audit-names.js';
import { readAcknowledgements } from './k6/acknowledgements.js';
import { awsClientConfig, labTarget, type Target } from './target.js';

/**
 * The invariant auditor: after an experiment (or any time), it checks the business promises
 * against each system's own record — not against what the services say about themselves.
 *
 * - no lost order: every acknowledged order (the load generator's own record of each 202) is in
 *   the order database and has reached a terminal state; one whose request sits in the DLQ
 *   fails the audit, named, unless the message is poison (not a payment request at all);
 * - no oversold SKU: stock counters never negative, and what inventory counts as sold is what
 *   the confirmed orders bought;
 * - stock matches orders: per SKU, sold equals what the confirmed orders bought — more is
 *   stock sold with no order behind it, less is an order confirmed without its stock;
 * - no double charge: at most one unrefunded capture per order in the payment gateway's own
 *   call log (every charge request, not its deduplicated captures), and the one the payment
 *   ledger recorded;
 * - no charge without an order: a capture not refunded belongs to a confirmed order;
 * - no system cancellations: no accepted order ended for a reason of the system's own (a hold
 *   that expired during an outage, a payment timeout);
 * - loyalty and analytics reconcile with the confirmed orders;
 * - every confirmed order has its receipt.
 *
 * Consumers are eventually consistent, so the audit polls until everything holds or the settle
 * time runs out, then reports what still does not hold.
 */

export { INVARIANTS, type Invariant } from './audit-names.js';

export interface InvariantResult {
  readonly invariant: Invariant;
  readonly ok: boolean;
  /** Counts behind the verdict, e.g. `482 acknowledged, 482 terminal, 0 in DLQ`. */
  readonly detail: string;
  /** The first offending ids, for the report. */
  readonly examples: readonly string[];
}

export interface AuditOptions {
  /** Acknowledged orders: a k6 run's acknowledged-orders.json, or a JSON array of ids. */
  readonly acknowledgements?: string;
  /** How long to wait for in-flight work and consumers to settle (default 60 s). */
  readonly settleMs?: number;
  readonly only?: readonly Invariant[];
  /** Whose records are read; the local lab's when absent. */
  readonly target?: Target;
}

const TERMINAL = new Set(['confirmed', 'payment_failed', 'cancelled']);

interface OrderRow {
  order_id: string;
  customer_id: string;
  status: string;
  reason: string | null;
  total_cents: number;
  items: { sku: string; quantity: number }[];
}

/** Order ids from an acknowledgement file (the k6 format), or a plain JSON array of ids. */
function acknowledgedIds(file: string): string[] {
  if (!existsSync(file)) throw new Error(`no acknowledgement file at ${file}`);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (Array.isArray(parsed) && parsed.every((id) => typeof id === 'string')) return parsed;
  return readAcknowledgements(file).orders.map((o) => o.orderId);
}

/** The target's own records: its order database, its AWS APIs, its gateway, its payment processor. */
class Sources {
  readonly db: pg.Client;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;

  constructor(private readonly target: Target) {
    const { ordersDatabase, aws } = target.sources();
    this.db = new pg.Client({ connectionString: ordersDatabase, connectionTimeoutMillis: 5000 });
    this.sqs = new SQSClient(awsClientConfig(aws, 'sqs'));
    this.dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientConfig(aws, 'dynamodb')));
    // path-style: an emulator's endpoint has no bucket subdomains
    this.s3 = new S3Client({ ...awsClientConfig(aws, 's3'), forcePathStyle: aws.endpoints.s3 !== undefined });
  }

  async orders(): Promise<OrderRow[]> {
    const { rows } = await this.db.query<OrderRow>(
      'SELECT order_id, customer_id, status, reason, total_cents, items FROM orders',
    );
    return rows;
  }

  /**
   * Order ids of the payment requests in the DLQ, read without consuming them for long. A
   * message that is not a valid payment request is poison: counted, but it names no order.
   */
  async dlq(): Promise<{ orderIds: Set<string>; poison: number }> {
    const ids = new Set<string>();
    let poison = 0;
    const url = (await this.sqs.send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentRequestsDlq })))
      .QueueUrl;
    // peek with a 1 s visibility timeout: the messages return to the queue for people to inspect
    for (let i = 0; i < 20; i++) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }),
      );
      if (Messages.length === 0) break;
      for (const m of Messages) {
        const body = parseJson(m.Body);
        if (Value.Check(PaymentRequested, body)) ids.add(body.orderId);
        else poison++;
      }
    }
    return { orderIds: ids, poison };
  }

  async inventory(): Promise<{ sku: string; available: number; reserved: number; sold: number }[]> {
    const items: { sku: string; available: number; reserved: number; sold: number }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({ TableName: TABLES.inventory, ExclusiveStartKey: start }),
      );
      items.push(...((page.Items ?? []) as typeof items));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async gatewayJson<T>(path: string): Promise<T> {
    const base = this.target.sources().paymentGateway;
    if (!base) throw new Error('the target names no paymentGateway call log to read charges from');
    const res = await fetch(`${base}/api/payment-gateway/v1/${path}`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`payment gateway simulator answered ${res.status}`);
    return (await res.json()) as T;
  }

  /**
   * The captures still standing, per order, from the gateway's call log: each request that
   * captured anew (not a replay), minus the refunded ones.
   */
  async standingCaptures(): Promise<Map<string, string[]>> {
    const [{ requests }, { charges }] = await Promise.all([
      this.gatewayJson<{ requests: { orderId: string; outcome: string; chargeId?: string }[] }>('requests'),
      this.gatewayJson<{ charges: { chargeId: string; refunded: boolean }[] }>('charges'),
    ]);
    const refunded = new Set(charges.filter((c) => c.refunded).map((c) => c.chargeId));
    const byOrder = new Map<string, string[]>();
    for (const r of requests) {
      if (r.outcome !== 'captured' || !r.chargeId || refunded.has(r.chargeId)) continue;
      byOrder.set(r.orderId, [...(byOrder.get(r.orderId) ?? []), r.chargeId]);
    }
    return byOrder;
  }

  /** The payment ledger's charged entries: orderId → chargeId. */
  async ledgerCharges(): Promise<Map<string, string>> {
    const charged = new Map<string, string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({ TableName: TABLES.payments, ExclusiveStartKey: start }),
      );
      for (const item of (page.Items ?? []) as { orderId: string; status: string; chargeId?: string }[]) {
        if (item.status === 'charged' && item.chargeId) charged.set(item.orderId, item.chargeId);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return charged;
  }

  async json<T>(path: string): Promise<T | undefined> {
    const res = await fetch(`${this.target.gateway()}${path}`, { signal: AbortSignal.timeout(5000) }).catch(
      () => undefined,
    );
    return res?.ok ? ((await res.json()) as T) : undefined;
  }

  async receiptExists(orderId: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: BUCKETS.receipts, Key: receiptKey(orderId) }));
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.end().catch(() => {});
    this.sqs.destroy();
    this.dynamo.destroy();
    this.s3.destroy();
  }
}

const sample = (ids: Iterable<string>, n = 5) => [...ids].slice(0, n);
const SYSTEM_REASONS = new Set<string>(Object.values(SYSTEM_END_REASONS));

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** What each SKU's confirmed orders bought. */
function boughtBySku(confirmed: readonly OrderRow[]): Map<string, number> {
  const bought = new Map<string, number>();
  for (const o of confirmed)
    for (const l of o.items) bought.set(l.sku, (bought.get(l.sku) ?? 0) + l.quantity);
  return bought;
}
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function check(
  invariant: Invariant,
  src: Sources,
  acks: readonly string[] | undefined,
): Promise<InvariantResult> {
  const result = (ok: boolean, detail: string, examples: Iterable<string> = []) => ({
    invariant,
    ok,
    detail,
    examples: sample(examples),
  });
  const orders = await src.orders();
  const confirmed = orders.filter((o) => o.status === 'confirmed');
  switch (invariant) {
    case 'no-lost-orders': {
      const byId = new Map(orders.map((o) => [o.order_id, o]));
      const expected = acks ?? orders.map((o) => o.order_id);
      const missing = expected.filter((id) => !byId.has(id));
      const open = expected.filter((id) => byId.has(id) && !TERMINAL.has(byId.get(id)?.status ?? ''));
      // Read every time, not only when something is open: a dead-lettered request whose order
      // later ended by other means still says payments were given up on during the run.
      const dlq = await src.dlq();
      const deadLettered = expected.filter((id) => dlq.orderIds.has(id));
      const stuck = open.filter((id) => !dlq.orderIds.has(id));
      return result(
        missing.length === 0 && stuck.length === 0 && deadLettered.length === 0,
        `${expected.length} ${acks ? 'acknowledged' : 'in the database'}, ${missing.length} missing, ${
          expected.length - missing.length - open.length
        } terminal, ${deadLettered.length} dead-lettered (not poison), ${stuck.length} not terminal, ${dlq.poison} poison in the DLQ`,
        [
          ...missing.map((id) => `missing ${id}`),
          ...deadLettered.map((id) => `dead-lettered ${id} (${byId.get(id)?.status ?? 'unknown'})`),
          ...stuck.map((id) => `stuck ${id} (${byId.get(id)?.status})`),
        ],
      );
    }
    case 'no-oversold-sku': {
      const items = await src.inventory();
      const negative = items.filter((i) => i.available < 0 || i.reserved < 0 || i.sold < 0);
      const bought = boughtBySku(confirmed);
      // sold counts paid reservations; a confirmed order is paid, so sold ≥ what confirmed orders bought
      const short = items.filter((i) => i.sold < (bought.get(i.sku) ?? 0));
      return result(
        negative.length === 0 && short.length === 0,
        `${items.length} SKUs, ${negative.length} with a negative counter, ${short.length} selling less than confirmed orders bought`,
        [
          ...negative.map((i) => `${i.sku} available=${i.available}`),
          ...short.map((i) => `${i.sku} sold=${i.sold} < ${bought.get(i.sku)}`),
        ],
      );
    }
    case 'stock-matches-orders': {
      const items = await src.inventory();
      const bought = boughtBySku(confirmed);
      const skus = new Set([...items.map((i) => i.sku), ...bought.keys()]);
      const sold = new Map(items.map((i) => [i.sku, i.sold]));
      const over: string[] = [];
      const under: string[] = [];
      for (const sku of skus) {
        const s = sold.get(sku) ?? 0;
        const b = bought.get(sku) ?? 0;
        if (s > b) over.push(`${sku} sold=${s} > confirmed ${b}`);
        if (s < b) under.push(`${sku} sold=${s} < confirmed ${b}`);
      }
      return result(
        over.length === 0 && under.length === 0,
        `${skus.size} SKUs, ${over.length} with stock sold that no confirmed order bought, ${under.length} with confirmed orders whose stock is not sold`,
        [...over, ...under],
      );
    }
    case 'no-double-charge': {
      // Judged over the orders CloudCafe knows: the gateway's log also holds whatever else was
      // ever sent to it (a tester's curl), which says nothing about CloudCafe's promise.
      const known = new Set(orders.map((o) => o.order_id));
      const [captures, ledger] = await Promise.all([src.standingCaptures(), src.ledgerCharges()]);
      const twice: string[] = [];
      const unrecorded: string[] = [];
      let count = 0;
      for (const [orderId, chargeIds] of captures) {
        if (!known.has(orderId)) continue;
        count += chargeIds.length;
        if (chargeIds.length > 1) twice.push(`${orderId} ×${chargeIds.length}`);
        const recorded = ledger.get(orderId);
        // A capture the payment ledger does not know is a charge it would make again.
        if (recorded !== undefined && chargeIds.some((id) => id !== recorded)) {
          unrecorded.push(`${orderId} captured beside the ledger's ${recorded}`);
        }
      }
      return result(
        twice.length === 0 && unrecorded.length === 0,
        `${count} standing captures in the gateway's call log for ${known.size} known orders, ${twice.length} charged more than once, ${unrecorded.length} with a capture the ledger does not record`,
        [...twice, ...unrecorded],
      );
    }
    case 'no-charge-without-order': {
      const byId = new Map(orders.map((o) => [o.order_id, o]));
      const captures = await src.standingCaptures();
      const unbacked = [...captures.keys()]
        .filter((id) => byId.has(id) && byId.get(id)?.status !== 'confirmed')
        .map(
          (id) =>
            `${id} charged, order ${byId.get(id)?.status}${byId.get(id)?.reason ? ` (${byId.get(id)?.reason})` : ''}`,
        );
      return result(
        unbacked.length === 0,
        `${captures.size} orders with a standing capture, ${unbacked.length} of them not confirmed and not refunded`,
        unbacked,
      );
    }
    case 'no-system-cancellations': {
      const scope = acks ? new Set(acks) : undefined;
      const ended = orders.filter(
        (o) => (!scope || scope.has(o.order_id)) && o.reason !== null && SYSTEM_REASONS.has(o.reason),
      );
      return result(
        ended.length === 0,
        `${ended.length} accepted orders ended by the system itself (${[...SYSTEM_REASONS].join(', ')})`,
        ended.map((o) => `${o.order_id} ${o.status}: ${o.reason}`),
      );
    }
    case 'loyalty-reconciles': {
      const summary = await src.json<{
        ordersAwarded: number;
        confirmedRevenueCents: number;
        pointsOutstanding: number;
      }>('/api/loyalty/summary');
      if (!summary) return result(false, 'the loyalty service did not answer /api/loyalty/summary');
      const revenue = sum(confirmed.map((o) => o.total_cents));
      const points = sum(confirmed.map((o) => pointsFor(o.total_cents)));
      const ok =
        summary.ordersAwarded === confirmed.length &&
        summary.confirmedRevenueCents === revenue &&
        summary.pointsOutstanding === points;
      return result(
        ok,
        `orders ${summary.ordersAwarded}/${confirmed.length}, revenue ${summary.confirmedRevenueCents}/${revenue} cents, points ${summary.pointsOutstanding}/${points} (loyalty/orders)`,
      );
    }
    case 'analytics-reconciles': {
      const summary = await src.json<{ confirmedOrders: number; netRevenueCents: number }>(
        '/api/analytics/summary',
      );
      if (!summary) return result(false, 'the analytics service did not answer /api/analytics/summary');
      const revenue = sum(confirmed.map((o) => o.total_cents));
      return result(
        summary.confirmedOrders === confirmed.length && summary.netRevenueCents === revenue,
        `orders ${summary.confirmedOrders}/${confirmed.length}, revenue ${summary.netRevenueCents}/${revenue} cents (analytics/orders)`,
      );
    }
    case 'receipts-present': {
      const missing: string[] = [];
      for (const o of confirmed) if (!(await src.receiptExists(o.order_id))) missing.push(o.order_id);
      return result(
        missing.length === 0,
        `${confirmed.length} confirmed orders, ${missing.length} without a receipt`,
        missing,
      );
    }
  }
}

/** Runs the audit, polling until every invariant holds or the settle time runs out. */
export async function audit(options: AuditOptions = {}): Promise<InvariantResult[]> {
  const acks = options.acknowledgements ? acknowledgedIds(options.acknowledgements) : undefined;
  const invariants = options.only ?? INVARIANTS;
  const src = new Sources(options.target ?? labTarget);
  await src.db.connect();
  const deadline = Date.now() + (options.settleMs ?? 60_000);
  try {
    for (;;) {
      const results: InvariantResult[] = [];
      for (const invariant of invariants) {
        results.push(
          await check(invariant, src, acks).catch((error: Error) => ({
            invariant,
            ok: false,
            detail: `could not be checked: ${error.message}`,
            examples: [],
          })),
        );
      }
      if (results.every((r) => r.ok) || Date.now() >= deadline) return results;
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await src.close();
  }
}
