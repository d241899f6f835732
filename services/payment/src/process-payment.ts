import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type PaymentRequested, type PaymentResult, receiptKey } from '@cloudcafe/contracts';
import type { Logger, Metrics } from '@cloudcafe/kit';
import { type FraudModel, scoreFraud } from './fraud.js';
import { charge } from './gateway-client.js';
import type { LedgerEntry, PaymentLedger } from './ledger.js';

/**
 * One payment request, from the ledger's point of view (see ledger.ts for the states). The
 * order of the steps is what makes every crash point safe:
 *
 *   claim → gateway (Idempotency-Key = orderId) → ledger final → receipt → result
 *
 * A crash before the ledger's final state leaves `charging`, and the next delivery repeats the
 * gateway call, which the gateway deduplicates. A crash after it leaves a final state, and the
 * next delivery only re-writes the receipt and re-sends the result (the results queue drops
 * the duplicate by its deduplication id `orderId:outcome`). The result goes last so that an
 * order confirmed downstream always has its receipt: {@link processPayment} answers it, and the
 * handler publishes the results of a whole batch in one call ({@link publishResults}) before
 * the batch is acknowledged.
 */

export interface PaymentDeps {
  readonly ledger: PaymentLedger;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly receiptsBucket: string;
  readonly resultsQueueUrl: () => Promise<string>;
  readonly gatewayUrl: string;
  readonly gatewayTimeoutMs: number;
  readonly model: FraudModel;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export type PaymentOutcome = 'charged' | 'declined';

export async function processPayment(
  deps: PaymentDeps,
  request: PaymentRequested,
): Promise<{ outcome: PaymentOutcome; duplicate: boolean; result: PaymentResult }> {
  const { ledger, metrics } = deps;
  // No read first: a first delivery (the common case) claims with one conditional put, and
  // only a repeat, whose put is refused, reads what the earlier delivery wrote.
  const fraud = scoreFraud(deps.model, request);
  const base = {
    orderId: request.orderId,
    customerId: request.customerId,
    amountCents: request.amountCents,
    currency: request.currency,
    requestedAt: request.requestedAt,
    fraudScore: fraud.score,
  };
  let entry = fraud.declined
    ? await ledger.create(base, 'declined', { reason: 'fraud' })
    : await ledger.create(base, 'charging');
  let duplicate = false;
  if (entry?.status === 'declined') metrics.inc('payments_failed_total', { reason: 'fraud' });
  if (!entry) {
    // An earlier delivery claimed it: follow what it wrote.
    entry = await ledger.get(request.orderId);
    if (!entry) throw new Error(`ledger ${request.orderId}: claim refused but no entry found`);
    duplicate = entry.status !== 'charging';
    if (entry.status === 'charging') await ledger.recordAttempt(request.orderId);
  }

  if (entry.status === 'charging') entry = await chargeAndRecord(deps, entry);
  else if (duplicate) metrics.inc('payment_duplicates_prevented_total');

  if (entry.status === 'charged') await writeReceipt(deps, entry);
  const outcome: PaymentOutcome = entry.status === 'charged' ? 'charged' : 'declined';
  return { outcome, duplicate, result: resultOf(entry, outcome) };
}

async function chargeAndRecord(deps: PaymentDeps, entry: LedgerEntry): Promise<LedgerEntry> {
  const answer = await charge(
    deps.gatewayUrl,
    {
      orderId: entry.orderId,
      customerId: entry.customerId,
      amountCents: entry.amountCents,
      currency: entry.currency,
    },
    deps.gatewayTimeoutMs,
  );
  if (answer.kind === 'declined') {
    deps.metrics.inc('payments_failed_total', { reason: 'declined' });
    return deps.ledger.complete(entry.orderId, 'declined', { reason: answer.reason });
  }
  // The gateway replaying a capture means an earlier delivery charged and then died before
  // recording it: the idempotency key just prevented a second charge.
  if (answer.replayed) deps.metrics.inc('payment_duplicates_prevented_total');
  const charged = await deps.ledger.complete(entry.orderId, 'charged', { chargeId: answer.chargeId });
  if (!answer.replayed) deps.metrics.inc('payments_charged_total');
  return charged;
}

async function writeReceipt(deps: PaymentDeps, entry: LedgerEntry): Promise<void> {
  const receipt = {
    orderId: entry.orderId,
    customerId: entry.customerId,
    chargeId: entry.chargeId,
    amountCents: entry.amountCents,
    currency: entry.currency,
    chargedAt: entry.completedAt,
  };
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.receiptsBucket,
      Key: receiptKey(entry.orderId),
      Body: JSON.stringify(receipt),
      ContentType: 'application/json',
    }),
  );
  deps.metrics.inc('receipts_written_total');
}

function resultOf(entry: LedgerEntry, outcome: PaymentOutcome): PaymentResult {
  return {
    type: 'PaymentResult',
    orderId: entry.orderId,
    outcome,
    amountCents: entry.amountCents,
    at: entry.completedAt ?? new Date().toISOString(),
    ...(entry.chargeId && { chargeId: entry.chargeId }),
    ...(entry.reason && { reason: entry.reason }),
  };
}

/** SQS takes at most ten messages per SendMessageBatch. */
const SQS_BATCH = 10;

/**
 * Publishes results, ten per call, in the order given (a FIFO queue keeps that order within a
 * message group). Answers the keys whose result did not go out: their records must be retried.
 */
export async function publishResults(
  deps: Pick<PaymentDeps, 'sqs' | 'resultsQueueUrl'>,
  results: readonly { key: string; result: PaymentResult }[],
): Promise<Set<string>> {
  const failed = new Set<string>();
  for (let i = 0; i < results.length; i += SQS_BATCH) {
    const chunk = results.slice(i, i + SQS_BATCH);
    try {
      const answer = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: await deps.resultsQueueUrl(),
          Entries: chunk.map(({ result }, n) => ({
            Id: String(n),
            MessageBody: JSON.stringify(result),
            MessageGroupId: result.orderId,
            MessageDeduplicationId: `${result.orderId}:${result.outcome}`,
          })),
        }),
      );
      for (const entry of answer.Failed ?? []) {
        const item = chunk[Number(entry.Id)];
        if (item) failed.add(item.key);
      }
    } catch {
      for (const { key } of chunk) failed.add(key);
    }
  }
  return failed;
}
