import { readFileSync } from 'node:fs';
import { labStatus, signalProcess, waitFor } from '@cloudcafe/local-platform';
import {
  cancelled,
  confirmed,
  getJson,
  kinesis,
  lab,
  publish,
  RUN,
} from '@cloudcafe/test-support/order-events';
import t from 'tap';

// Integration tests on the shared lab: real PostgreSQL warehouse, the Kinesis emulator, the
// analytics process the lab supervises. Events are published here with PutRecords.

interface Summary {
  confirmedOrders: number;
  revenueCents: number;
  refunds: number;
  refundedCents: number;
  lateEvents: number;
}
interface WindowView {
  start: string;
  orderCount: number;
  revenueCents: number;
  averageOrderValueCents: number;
  lateEvents: number;
  closed: boolean;
  topProducts: { sku: string; quantity: number; revenueCents: number }[];
}

const client = kinesis();
const admin = () => ({ authorization: `Bearer ${readFileSync(lab().adminTokenFile, 'utf8').trim()}` });
const summary = async () => (await getJson<Summary>('/api/analytics/summary')).body;

async function summaryReaches(
  expected: { orders: number; revenue: number },
  timeoutMs = 60_000,
): Promise<Summary> {
  let last: Summary | undefined;
  await waitFor(
    `analytics totals ${JSON.stringify(expected)}`,
    async () => {
      last = await summary();
      return last.confirmedOrders >= expected.orders && last.revenueCents >= expected.revenue;
    },
    { timeoutMs, intervalMs: 250 },
  );
  return last as Summary;
}

// A quiet hour long past, one per run, so these windows hold only this test's events.
const base = new Date(Date.UTC(2020, 0, 1) + (Number.parseInt(RUN, 16) % 50_000) * 3600_000);
const at = (minutes: number) => new Date(base.getTime() + minutes * 60_000);

// The watermark follows the latest event time the consumer has seen. In a fresh lab that would
// be these tests' own events (in 2020), and no window of theirs could be closed yet; so first
// show the consumer the present, as a running shop always has.
t.before(async () => {
  const start = await summary();
  await publish(client, [confirmed(`cust-${RUN}-clock`, 100, new Date())]);
  await summaryReaches({ orders: start.confirmedOrders + 1, revenue: start.revenueCents + 100 });
});

t.test('windows and totals equal what a batch of confirmed orders says', async (t) => {
  // Prepare: 30 orders over three 5-minute windows, from many customers (both shards)
  const before = await summary();
  const events = Array.from({ length: 30 }, (_, n) =>
    confirmed(`cust-${RUN}-w${n % 7}`, 500 + n * 113, at(n % 15)),
  );
  const revenue = events.reduce((s, e) => s + e.totalCents, 0);
  // Act
  await publish(client, events);
  // Assess
  const after = await summaryReaches({
    orders: before.confirmedOrders + 30,
    revenue: before.revenueCents + revenue,
  });
  t.equal(after.confirmedOrders - before.confirmedOrders, 30, 'every confirmed order counted once');
  t.equal(after.revenueCents - before.revenueCents, revenue, 'revenue equals the orders');
  const windows = await getJson<{ windows: WindowView[] }>(
    `/api/analytics/windows?from=${at(0).toISOString()}&to=${at(15).toISOString()}`,
  );
  t.equal(windows.status, 200);
  t.equal(windows.body.windows.length, 3, 'three 5-minute windows');
  for (const [index, window] of windows.body.windows.entries()) {
    const inWindow = events.filter((e) => {
      const minute = (new Date(e.occurredAt).getTime() - base.getTime()) / 60_000;
      return minute >= index * 5 && minute < index * 5 + 5;
    });
    const windowRevenue = inWindow.reduce((s, e) => s + e.totalCents, 0);
    t.equal(window.start, at(index * 5).toISOString());
    t.equal(window.orderCount, inWindow.length, `window ${index} count`);
    t.equal(window.revenueCents, windowRevenue, `window ${index} revenue`);
    t.equal(
      window.averageOrderValueCents,
      Math.round(windowRevenue / inWindow.length),
      `window ${index} AOV`,
    );
    t.ok(window.topProducts.length > 0 && window.topProducts.length <= 5, 'top products listed');
    t.ok(window.closed, 'a window an hour behind the watermark is closed');
  }
});

t.test(
  'after one batch of confirmed orders, loyalty and analytics both equal what the orders say',
  async (t) => {
    // Prepare
    const customers = [1, 2, 3, 4].map((n) => `cust-${RUN}-both${n}`);
    const events = customers.flatMap((c, i) =>
      [1, 2, 3].map((k) => confirmed(c, 300 + i * 1700 + k * 211, at(20 + k))),
    );
    const revenue = events.reduce((s, e) => s + e.totalCents, 0);
    const before = await summary();
    // Act
    await publish(client, events);
    // Assess
    const after = await summaryReaches({
      orders: before.confirmedOrders + events.length,
      revenue: before.revenueCents + revenue,
    });
    t.equal(after.revenueCents - before.revenueCents, revenue, 'analytics revenue');
    for (const c of customers) {
      const points = events
        .filter((e) => e.customerId === c)
        .reduce((s, e) => s + Math.floor(e.totalCents / 100), 0);
      await waitFor(
        `loyalty balance of ${c}`,
        async () => (await getJson<{ points: number }>(`/api/loyalty/${c}`)).body.points === points,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      t.pass(`${c}: ${points} points`);
    }
  },
);

t.test('duplicated and replayed records change nothing', async (t) => {
  // Prepare
  const events = [confirmed(`cust-${RUN}-d1`, 1234, at(30)), confirmed(`cust-${RUN}-d2`, 4321, at(31))];
  const before = await summary();
  await publish(client, events);
  await summaryReaches({ orders: before.confirmedOrders + 2, revenue: before.revenueCents + 5555 });
  // Act: replay both twice (same event ids), then a marker behind them on the same shards
  await publish(client, [...events, ...events]);
  const markers = [confirmed(`cust-${RUN}-d1`, 100, at(32)), confirmed(`cust-${RUN}-d2`, 100, at(32))];
  await publish(client, markers);
  // Assess
  const after = await summaryReaches({
    orders: before.confirmedOrders + 4,
    revenue: before.revenueCents + 5755,
  });
  t.equal(after.confirmedOrders - before.confirmedOrders, 4, 'only the markers were added');
  t.equal(after.revenueCents - before.revenueCents, 5755);
});

t.test('a late event amends its closed window and is counted as late', async (t) => {
  // Prepare: the watermark is at least the wall clock's now (other tests), so a window from
  // this run's past hour is closed
  const before = await summary();
  const late = confirmed(`cust-${RUN}-late`, 777, at(40));
  // Act
  await publish(client, [late]);
  // Assess
  const after = await summaryReaches({
    orders: before.confirmedOrders + 1,
    revenue: before.revenueCents + 777,
  });
  t.equal(after.lateEvents - before.lateEvents, 1, 'counted as late');
  const window = await getJson<{ windows: WindowView[] }>(
    `/api/analytics/windows?from=${at(40).toISOString()}&to=${at(45).toISOString()}`,
  );
  t.equal(window.body.windows[0]?.revenueCents, 777, 'but still in its own window');
  t.equal(window.body.windows[0]?.lateEvents, 1);
});

t.test('a cancellation after confirmation is a refund, once', async (t) => {
  const before = await summary();
  const order = confirmed(`cust-${RUN}-r`, 2500, at(50));
  await publish(client, [order]);
  await summaryReaches({ orders: before.confirmedOrders + 1, revenue: before.revenueCents + 2500 });
  // Act
  const cancel = cancelled(order, at(51));
  await publish(client, [cancel, cancel, cancelled(order, at(52))]);
  // Assess
  await waitFor('the refund', async () => (await summary()).refunds > before.refunds, { timeoutMs: 30_000 });
  const marker = confirmed(`cust-${RUN}-r`, 1, at(53));
  await publish(client, [marker]);
  const after = await summaryReaches({
    orders: before.confirmedOrders + 2,
    revenue: before.revenueCents + 2501,
  });
  t.equal(after.refunds - before.refunds, 1, 'one refund for the order');
  t.equal(after.refundedCents - before.refundedCents, 2500, 'of the confirmed total');
});

t.test('the worker killed mid-stream resumes from its checkpoint with totals intact', async (t) => {
  // Prepare: enough events that the kill lands while batches are being applied
  const events = Array.from({ length: 1200 }, (_, n) =>
    confirmed(`cust-${RUN}-kill${n % 40}`, 200 + (n % 97) * 13, at(60 + (n % 30))),
  );
  const revenue = events.reduce((s, e) => s + e.totalCents, 0);
  const before = await summary();
  const analytics = async () => (await labStatus())?.processes.find((p) => p.name === 'analytics');
  const restartsBefore = (await analytics())?.restarts ?? 0;
  // Act
  await publish(client, events);
  let seen = 0;
  await waitFor(
    'analytics to start applying the batch',
    async () => {
      seen = (await summary()).confirmedOrders - before.confirmedOrders;
      return seen > 0;
    },
    { timeoutMs: 30_000, intervalMs: 20 },
  );
  await signalProcess('analytics', 'SIGKILL');
  t.comment(`killed after ${seen} of ${events.length} orders were applied`);
  await waitFor(
    'analytics to restart',
    async () => {
      const now = await analytics();
      return (now?.restarts ?? 0) > restartsBefore && now?.state === 'running';
    },
    { timeoutMs: 30_000 },
  );
  // Assess
  const after = await summaryReaches(
    { orders: before.confirmedOrders + events.length, revenue: before.revenueCents + revenue },
    90_000,
  );
  t.equal(after.confirmedOrders - before.confirmedOrders, events.length, 'every order counted exactly once');
  t.equal(after.revenueCents - before.revenueCents, revenue, 'revenue equals the events');
});

t.test('query-storm runs concurrent reports and reports their timings', async (t) => {
  const start = await getJson<{ runId: string }>('/api/analytics/stress/query-storm', {
    method: 'POST',
    headers: { ...admin(), 'content-type': 'application/json' },
    body: JSON.stringify({ durationSeconds: 2, concurrency: 2, scale: 2 }),
  });
  t.equal(start.status, 202);
  const second = await getJson<{ error: { code: string } }>('/api/analytics/stress/query-storm', {
    method: 'POST',
    headers: admin(),
  });
  t.equal(second.status, 409, 'one run at a time');
  let run: {
    state: string;
    result?: { reports: Record<string, { runs: number; failures: number; p50Ms: number }> };
  } = {
    state: 'running',
  };
  await waitFor(
    'the run to finish',
    async () => {
      run = (
        await getJson<typeof run>(`/api/analytics/stress/query-storm/runs/${start.body.runId}`, {
          headers: admin(),
        })
      ).body;
      return run.state !== 'running';
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  t.equal(run.state, 'completed');
  const reports = Object.values(run.result?.reports ?? {});
  t.equal(reports.length, 4, 'four report queries');
  for (const report of reports) {
    t.ok(report.runs >= 1, 'each report ran');
    t.equal(report.failures, 0, 'without failing');
  }
});

t.test('bad input answers 400 with a stable code', async (t) => {
  for (const path of [
    '/api/analytics/windows?from=yesterday',
    '/api/analytics/windows?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
    '/api/analytics/windows?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    '/api/analytics/windows?from[$gt]=1',
    '/api/analytics/summary?to=42',
  ]) {
    const res = await getJson<{ error: { code: string } }>(path);
    t.equal(res.status, 400, path);
    t.equal(res.body.error.code, 'CAFE_ERR_VALIDATION');
  }
});
