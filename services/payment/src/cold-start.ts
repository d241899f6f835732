import { randomUUID } from 'node:crypto';
import { GetQueueUrlCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type PaymentRequested, QUEUES } from '@cloudcafe/contracts';
import { defineStressScenario } from '@cloudcafe/kit';
import Type from 'typebox';
import type { LedgerEntry, PaymentLedger } from './ledger.js';
import type { RuntimeClient } from './runtime-client.js';

/**
 * Black-Friday midnight checkouts: every warm instance is retired, then a burst of payment
 * requests — each from its own customer, so FIFO ordering does not serialise them — lands on
 * the queue at once. The runtime scales out to its concurrency limit and every new instance
 * pays the handler's init (the fraud-model SHA-256 chain). The run reports what that cost: cold
 * starts, init time, invocation durations and end-to-end payment latency percentiles.
 *
 * The payments are real (gateway captures, ledger entries, receipts, results) for order ids
 * starting `stress-`, which no order exists for: consumers of the results queue ignore them.
 */

/** Functions, because the app's clients exist only once the app that runs the scenario is built. */
export interface ColdStartDeps {
  readonly sqs: () => SQSClient;
  readonly ledger: () => PaymentLedger;
  readonly runtime: RuntimeClient;
  readonly requestsQueueUrl: string | undefined;
}

const Knobs = Type.Object({
  payments: Type.Integer({ minimum: 1, maximum: 1000, default: 60, description: 'Checkouts in the burst' }),
  timeoutSeconds: Type.Integer({
    minimum: 10,
    maximum: 600,
    default: 180,
    description: 'Give up waiting for outcomes after this long',
  }),
});

export function percentiles(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1) ?? 0 };
}

export function coldStartScenario(deps: ColdStartDeps) {
  return defineStressScenario({
    name: 'cold-start',
    description: 'Black-Friday midnight checkouts: a burst of payments on fresh Lambda instances',
    knobs: Knobs,
    durationMs: (knobs) => knobs.timeoutSeconds * 1000,
    maxDurationMs: 600_000,
    run: async (knobs, ctx) => {
      if (!deps.runtime.available) await deps.runtime.status(); // throws the 503 explaining why
      const queueUrl =
        deps.requestsQueueUrl ??
        (await deps.sqs().send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentRequests }))).QueueUrl;
      const { retired } = await deps.runtime.recycle();
      const burst = randomUUID().slice(0, 8);
      const started = Date.now();
      const requests: PaymentRequested[] = Array.from({ length: knobs.payments }, (_, i) => ({
        type: 'PaymentRequested',
        orderId: `stress-${burst}-${i}`,
        customerId: `stress-${burst}-${i}`,
        amountCents: 350 + ((i * 7919) % 2150),
        currency: 'USD',
        requestedAt: new Date(started).toISOString(),
      }));
      for (let i = 0; i < requests.length; i += 10) {
        const chunk = requests.slice(i, i + 10);
        await deps.sqs().send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((r, j) => ({
              Id: String(j),
              MessageBody: JSON.stringify(r),
              MessageGroupId: r.customerId,
              MessageDeduplicationId: r.orderId,
            })),
          }),
        );
      }
      ctx.log.info({ payments: requests.length, retired }, 'burst sent');

      const finished = new Map<string, LedgerEntry>();
      let peakConcurrency = 0;
      while (finished.size < requests.length && !ctx.signal.aborted) {
        for (const r of requests) {
          if (finished.has(r.orderId)) continue;
          const entry = await deps.ledger().get(r.orderId);
          if (entry && entry.status !== 'charging') finished.set(r.orderId, entry);
        }
        const status = await deps.runtime.status().catch(() => undefined);
        peakConcurrency = Math.max(peakConcurrency, status?.concurrency ?? 0);
        ctx.progress(finished.size / requests.length, `${finished.size}/${requests.length} payments final`);
        if (finished.size < requests.length) await new Promise((r) => setTimeout(r, 250));
      }

      // The ledger turns final a moment before its invocation ends (receipt, result and the
      // runtime's bookkeeping come after): wait until the runtime has recorded them all.
      let invocations = await deps.runtime.invocationsSince(started);
      const settleBy = Date.now() + 15_000;
      while (
        invocations.reduce((n, i) => n + i.records - i.failed, 0) < finished.size &&
        Date.now() < settleBy &&
        !ctx.signal.aborted
      ) {
        await new Promise((r) => setTimeout(r, 200));
        invocations = await deps.runtime.invocationsSince(started);
      }
      const cold = invocations.filter((i) => i.cold);
      const entries = [...finished.values()];
      return {
        payments: requests.length,
        completed: finished.size,
        charged: entries.filter((e) => e.status === 'charged').length,
        declined: entries.filter((e) => e.status === 'declined').length,
        retiredBeforeBurst: retired,
        invocations: invocations.length,
        coldStarts: cold.length,
        peakConcurrency,
        // Over the inits that finished; one that outlasted the runtime's init bound has no figure
        // of its own and is counted apart (its records went back to the queue).
        initMs: percentiles(cold.flatMap((i) => (i.initMs === undefined ? [] : [i.initMs]))),
        initTimeouts: cold.filter((i) => i.initMs === undefined && i.outcome === 'timeout').length,
        coldInvocationMs: percentiles(cold.map((i) => i.durationMs)),
        warmInvocationMs: percentiles(invocations.filter((i) => !i.cold).map((i) => i.durationMs)),
        endToEndMs: percentiles(
          entries.map((e) => Date.parse(e.completedAt ?? e.claimedAt) - Date.parse(e.requestedAt)),
        ),
        wallClockMs: Date.now() - started,
      };
    },
  });
}
