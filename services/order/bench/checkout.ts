/**
 * `npm run bench:checkout`: checkout throughput of a running local lab, through the gateway.
 *
 * 1. A fixed open-loop rate (default 10 orders/s for 10 s): accepted orders/s, p50/p99 accept
 *    latency (time to the 202).
 * 2. A bounded step search (rates from 2/s up to 160/s, 5 s each, at most 7 steps): the highest
 *    rate whose p99 stays under 500 ms with under 1% errors.
 * 3. Completion of the fixed-rate orders: with the payment service in the lab, the time until
 *    every accepted order is terminal (confirmed / payment_failed); without it, the time until
 *    the order service's outbox is empty (every PaymentRequested and event published).
 *
 * Loopback only; bounded in count and time. Options: --rate N --seconds N.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { labPaths, readLabState } from '@cloudcafe/local-platform';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '10' }, seconds: { type: 'string', default: '10' } },
});
const RATE = Math.min(200, Math.max(1, Number(values.rate)));
const SECONDS = Math.min(60, Math.max(1, Number(values.seconds)));
const P99_BUDGET_MS = 500;
const STEP_SECONDS = 5;
const STEP_RATES = [2, 5, 10, 20, 40, 80, 160] as const;
const MAX_IN_FLIGHT = 400;
const COMPLETION_TIMEOUT_MS = 180_000;

const state = readLabState(labPaths());
if (!state) throw new Error('the lab is not up: `npx cloudcafe lab up` first');
const gateway = state.gateway;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(gateway)) throw new Error(`not a loopback gateway: ${gateway}`);
const token = readFileSync(state.adminTokenFile, 'utf8').trim();
const paymentInLab = state.services.some((s) => s.name === 'payment');

async function call(method: string, path: string, body?: unknown, admin = false) {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(admin && { authorization: `Bearer ${token}` }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const round = (x: number) => Math.round(x * 10) / 10;

interface PhaseResult {
  rate: number;
  seconds: number;
  sent: number;
  accepted: number;
  errors: number;
  acceptedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  orderIds: string[];
  lastAcceptAt: number;
}

/** Open loop: a request every 1/rate s whatever the answers, so queueing shows as latency. */
async function runAtRate(sku: string, rate: number, seconds: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  const orderIds: string[] = [];
  let errors = 0;
  let inFlight = 0;
  let sent = 0;
  let lastAcceptAt = 0;
  const pending: Promise<void>[] = [];
  const started = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= MAX_IN_FLIGHT) {
      errors++;
      continue;
    }
    inFlight++;
    sent++;
    const t0 = performance.now();
    pending.push(
      call('POST', '/api/orders', {
        customerId: `bench-${randomBytes(3).toString('hex')}`,
        items: [{ sku, quantity: 1 }],
      })
        .then((res) => {
          if (res.status === 202) {
            latencies.push(performance.now() - t0);
            orderIds.push(String(res.body.orderId));
            lastAcceptAt = Date.now();
          } else errors++;
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - started) / 1000;
  return {
    rate,
    seconds,
    sent,
    accepted: latencies.length,
    errors,
    acceptedPerSecond: round(latencies.length / elapsedS),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    orderIds,
    lastAcceptAt,
  };
}

async function outboxPending(): Promise<number> {
  const res = await fetch(`${gateway}/api/orders/metrics`, { signal: AbortSignal.timeout(5000) });
  const match = /^outbox_pending\{[^}]*\} (\d+)/m.exec(await res.text());
  return Number(match?.[1] ?? Number.NaN);
}

const TERMINAL = new Set(['confirmed', 'payment_failed', 'cancelled']);

async function waitForCompletion(orderIds: string[], since: number) {
  const deadline = Date.now() + COMPLETION_TIMEOUT_MS;
  if (!paymentInLab) {
    while (Date.now() < deadline) {
      if ((await outboxPending()) === 0)
        return { what: 'outbox drained (payment not in lab)', ms: Date.now() - since };
      await new Promise((r) => setTimeout(r, 100));
    }
    return { what: 'outbox drained (payment not in lab)', ms: Number.NaN };
  }
  let open = [...orderIds];
  const statuses: Record<string, number> = {};
  while (open.length > 0 && Date.now() < deadline) {
    const still: string[] = [];
    for (let i = 0; i < open.length; i += 20) {
      const chunk = open.slice(i, i + 20);
      const answers = await Promise.all(chunk.map((id) => call('GET', `/api/orders/${id}`)));
      answers.forEach((a, j) => {
        const status = String(a.body.status);
        if (TERMINAL.has(status)) statuses[status] = (statuses[status] ?? 0) + 1;
        else still.push(chunk[j] as string);
      });
    }
    open = still;
    if (open.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
  return {
    what: 'every accepted order terminal',
    ms: open.length === 0 ? Date.now() - since : Number.NaN,
    statuses,
  };
}

// Prepare: a SKU of our own with stock for everything this run can send
const sku = `BENCH-${randomBytes(4).toString('hex').toUpperCase()}`;
const budget = RATE * SECONDS + STEP_RATES.reduce((sum, r) => sum + r * STEP_SECONDS, 0);
if (
  (await call('PUT', `/api/inventory/${sku}`, { name: 'Bench drip', category: 'bench', price: 300 }, true))
    .status !== 200
)
  throw new Error('could not create the bench SKU (is inventory in the lab?)');
await call('POST', `/api/inventory/${sku}/restock`, { quantity: budget }, true);

process.stdout.write(
  `checkout bench against ${gateway} (payment service ${paymentInLab ? 'present' : 'NOT in the lab'})\n`,
);
const fixed = await runAtRate(sku, RATE, SECONDS);
process.stdout.write(
  `fixed rate ${RATE}/s for ${SECONDS}s: ${fixed.accepted}/${fixed.sent} accepted, ${fixed.acceptedPerSecond} accepted/s, p50 ${fixed.p50Ms} ms, p99 ${fixed.p99Ms} ms, ${fixed.errors} errors\n`,
);
const completion = await waitForCompletion(fixed.orderIds, fixed.lastAcceptAt || Date.now());
process.stdout.write(
  `completion: ${completion.what} ${Number.isNaN(completion.ms) ? 'NOT within 180 s' : `${completion.ms} ms after the last accept`}\n`,
);

const steps: Omit<PhaseResult, 'orderIds' | 'lastAcceptAt'>[] = [];
let best: number | undefined;
for (const rate of STEP_RATES) {
  const { orderIds: _ids, lastAcceptAt: _at, ...step } = await runAtRate(sku, rate, STEP_SECONDS);
  steps.push(step);
  const ok = step.p99Ms < P99_BUDGET_MS && step.errors <= step.sent * 0.01;
  process.stdout.write(
    `step ${rate}/s: ${step.acceptedPerSecond} accepted/s, p99 ${step.p99Ms} ms, ${step.errors} errors ${ok ? 'ok' : 'over budget'}\n`,
  );
  if (!ok) break;
  best = rate;
}
process.stdout.write(
  `highest rate with p99 < ${P99_BUDGET_MS} ms: ${best === undefined ? 'none of the steps' : `${best}/s`}\n`,
);

const { orderIds: _ids, lastAcceptAt: _at, ...fixedSummary } = fixed;
process.stdout.write(
  `${JSON.stringify(
    {
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        memoryGiB: round(totalmem() / 2 ** 30),
        loadAverage: loadavg().map(round),
        node: process.version,
      },
      fixed: fixedSummary,
      completion,
      steps,
      highestRateUnderP99Budget: best ?? null,
    },
    null,
    2,
  )}\n`,
);
