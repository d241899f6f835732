import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PAYMENT_MAX_RECEIVE_COUNT, type PaymentRequested } from '@cloudcafe/contracts';
import type { SQSRecord } from 'aws-lambda';

/**
 * How a payment rides out a dependency outage without the DLQ (ADR 0014).
 *
 * SQS counts every receive against the redrive policy's maxReceiveCount, and a Lambda event
 * source mapping receives whether or not the gateway is up: five receives with a backoff of
 * 1·2ⁿ s are spent in about fifteen seconds. So a request whose transient failure would spend
 * its last receives is sent again as a fresh message — same body, same group, a new
 * deduplication id — and the delivery in hand counts as handled. The fresh copy starts with a
 * full budget. It is safe to hold two copies for a moment (the send went out, the delete did
 * not): the ledger's conditional put and the gateway's Idempotency-Key make the second one a
 * no-op, never a second charge.
 *
 * The retry is bounded in time, not in receives: after `windowSeconds` from the order's own
 * `requestedAt` a transient failure is let through to the DLQ, which alarms — an outage that
 * long needs a person, not a loop. A poison message (malformed) or a non-retryable refusal
 * never comes here: it fails and dead-letters as before.
 */

/** What the handler needs to send a fresh copy. */
export interface RequeueDeps {
  readonly sqs: SQSClient;
  readonly requestsQueueUrl: () => Promise<string>;
  /** Transient failures are re-queued for this long after the order's requestedAt. */
  readonly windowSeconds: number;
  readonly now?: () => number;
}

/** Re-queue once this many receives are spent: the next failed receive would dead-letter. */
const REQUEUE_AT_RECEIVE = PAYMENT_MAX_RECEIVE_COUNT - 1;
const RETRY_SUFFIX = /:retry-(\d+)$/;

/** The generation of a copy: 0 for the relay's own message, n for the nth re-queued copy. */
export function retryGeneration(deduplicationId: string | undefined): number {
  const match = deduplicationId === undefined ? null : RETRY_SUFFIX.exec(deduplicationId);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/**
 * Deterministic per original delivery: a handler that re-queued and then died before its
 * delivery was deleted re-queues the same id again, which FIFO deduplication drops (5 min).
 */
export function nextDeduplicationId(orderId: string, deduplicationId: string | undefined): string {
  return `${orderId}:retry-${retryGeneration(deduplicationId) + 1}`;
}

/** Whether a transient failure of this delivery should be re-queued rather than left to SQS. */
export function shouldRequeue(
  record: Pick<SQSRecord, 'attributes'>,
  request: Pick<PaymentRequested, 'requestedAt'>,
  windowSeconds: number,
  now: number,
): boolean {
  const receives = Number(record.attributes.ApproximateReceiveCount ?? '1');
  if (!(receives >= REQUEUE_AT_RECEIVE)) return false;
  const requestedAt = Date.parse(request.requestedAt);
  return Number.isFinite(requestedAt) && now - requestedAt < windowSeconds * 1000;
}

/**
 * Sends the fresh copy. Resolves true when it went out (the delivery in hand may then be
 * acknowledged), false when it could not: the delivery then fails as usual, and SQS brings it
 * back for one more try while a receive is left.
 */
export async function requeue(
  deps: RequeueDeps,
  record: Pick<SQSRecord, 'body' | 'attributes'>,
  request: Pick<PaymentRequested, 'orderId' | 'customerId'>,
): Promise<boolean> {
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: await deps.requestsQueueUrl(),
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId ?? request.customerId,
        MessageDeduplicationId: nextDeduplicationId(
          request.orderId,
          record.attributes.MessageDeduplicationId,
        ),
      }),
    );
    return true;
  } catch {
    return false;
  }
}
