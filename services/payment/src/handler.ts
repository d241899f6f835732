import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { PaymentRequested, type PaymentResult, QUEUES } from '@cloudcafe/contracts';
import {
  createAwsClients,
  createEmfLogger,
  createLogger,
  createMetrics,
  parseWithSchema,
} from '@cloudcafe/kit';
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { loadHandlerConfig } from './config.js';
import { buildFraudModel } from './fraud.js';
import { GatewayRefusedError, GatewayUnavailableError } from './gateway-client.js';
import { PaymentLedger } from './ledger.js';
import { type PaymentDeps, processPayment, publishResults } from './process-payment.js';
import { type RequeueDeps, requeue, shouldRequeue } from './retry.js';

/**
 * The payment Lambda: SQS FIFO batches of PaymentRequested in, partial batch failures out
 * (the event source mapping has ReportBatchItemFailures on). A record that fails for a
 * transient reason — gateway down or slow, DynamoDB/S3/SQS unreachable — is reported failed and
 * comes back after the visibility timeout; before its last receives are spent it is re-queued
 * with a fresh budget (retry.ts), so an outage delays payments instead of dead-lettering them.
 * Only a malformed message, a non-retryable refusal, or a failure past the retry window lands
 * in the DLQ. Final outcomes (charged, declined) are results, never failures.
 *
 * Init runs once per instance, at module load, as on Lambda: config, clients, and the fraud
 * model build (a SHA-256 chain, see fraud.ts) — the real cost every cold start pays.
 */

export const FUNCTION_NAME = 'cloudcafe-payment';

const config = loadHandlerConfig();
const log = createLogger({ service: 'payment', level: config.LOG_LEVEL });
const model = buildFraudModel(config.FRAUD_MODEL_ROUNDS);
const metrics = createMetrics({ service: 'payment', platform: config.PLATFORM, processMetrics: false });
const emf = createEmfLogger({ metrics });
const aws = createAwsClients({
  region: config.AWS_REGION,
  s3ForcePathStyle: config.AWS_S3_FORCE_PATH_STYLE === 'on',
  metrics,
});
log.info({ modelDigest: model.digest, rounds: model.rounds, buildMs: Math.round(model.buildMs) }, 'init');

/** A queue's URL: the configured one, or looked up by name once and kept for the instance's life. */
function queueUrl(name: string, configured: string | undefined): () => Promise<string> {
  let url = configured;
  return async () => {
    url ??= (await aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    if (!url) throw new Error(`no queue URL for ${name}`);
    return url;
  };
}

const deps: PaymentDeps = {
  ledger: new PaymentLedger(aws.documentClient, config.PAYMENTS_TABLE),
  s3: aws.s3,
  sqs: aws.sqs,
  receiptsBucket: config.RECEIPTS_BUCKET,
  resultsQueueUrl: queueUrl(QUEUES.paymentResults, config.PAYMENT_RESULTS_QUEUE_URL),
  gatewayUrl: config.PAYMENT_GATEWAY_URL,
  gatewayTimeoutMs: config.GATEWAY_TIMEOUT_MS,
  model,
  metrics,
  log,
};

const retry: RequeueDeps = {
  sqs: aws.sqs,
  requestsQueueUrl: queueUrl(QUEUES.paymentRequests, config.PAYMENT_REQUESTS_QUEUE_URL),
  windowSeconds: config.PAYMENT_RETRY_WINDOW_SECONDS,
};

let coldStart = true;

/** Leave this much of the invocation's time unused rather than be killed mid-record. */
const SAFETY_MARGIN_MS = 1000;

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const started = performance.now();
  const start = coldStart ? 'cold' : 'warm';
  if (coldStart) metrics.inc('lambda_cold_starts_total', { function: FUNCTION_NAME });
  coldStart = false;
  const failed = new Set<string>();
  // FIFO: records of one message group are processed in order, and a failed record holds back
  // the later records of its group (they would otherwise be processed out of order). Groups are
  // independent of each other, so they run concurrently: a batch of ten customers takes about
  // as long as its slowest customer, not as long as all ten in a row.
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const results = new Map<string, PaymentResult>();
  try {
    await Promise.all(
      [...groups.values()].map(async (records) => {
        let blocked = false;
        for (const record of records) {
          const outOfTime = context.getRemainingTimeInMillis() < config.GATEWAY_TIMEOUT_MS + SAFETY_MARGIN_MS;
          const result = blocked || outOfTime ? undefined : await processRecord(record);
          if (result === REQUEUED) continue;
          if (result) results.set(record.messageId, result);
          else {
            blocked = true;
            failed.add(record.messageId);
          }
        }
      }),
    );
    // The results of the whole batch in as few calls as SQS allows, in the batch's order; a
    // record whose result did not go out is retried, and so are the later ones of its group.
    const unsent = await publishResults(
      deps,
      event.Records.flatMap((r) => {
        const result = results.get(r.messageId);
        return result ? [{ key: r.messageId, result }] : [];
      }),
    );
    for (const records of groups.values()) {
      const first = records.findIndex((r) => unsent.has(r.messageId));
      if (first >= 0) for (const r of records.slice(first)) failed.add(r.messageId);
    }
  } finally {
    metrics.observe(
      'lambda_invocation_duration_ms',
      { function: FUNCTION_NAME, start },
      performance.now() - started,
    );
    emf.flush();
  }
  // In the batch's order, as Lambda reports them.
  const batchItemFailures: SQSBatchItemFailure[] = event.Records.filter((r) => failed.has(r.messageId)).map(
    (r) => ({ itemIdentifier: r.messageId }),
  );
  return { batchItemFailures };
}

/** A record handed on as a fresh copy (retry.ts): acknowledged, with no result yet. */
const REQUEUED = Symbol('requeued');

/**
 * The record's result once it reached a final outcome; REQUEUED when a fresh copy carries it
 * on; undefined when it must be retried (or, poison, dead-lettered).
 */
async function processRecord(record: SQSRecord): Promise<PaymentResult | typeof REQUEUED | undefined> {
  let request: PaymentRequested;
  try {
    request = parseWithSchema(PaymentRequested, JSON.parse(record.body), { part: 'body' });
  } catch (error) {
    // Retrying cannot fix a malformed message; failing it sends it to the DLQ, which alarms.
    log.error({ messageId: record.messageId, error: (error as Error).message }, 'malformed payment request');
    return undefined;
  }
  const orderLog = log.child({ orderId: request.orderId, messageId: record.messageId });
  try {
    const { outcome, duplicate, result } = await processPayment({ ...deps, log: orderLog }, request);
    // Debug, not info: a line per payment is a line per order on the hot path.
    orderLog.debug(
      { outcome, duplicate, receiveCount: record.attributes.ApproximateReceiveCount },
      `payment ${outcome}`,
    );
    return result;
  } catch (error) {
    if (error instanceof GatewayUnavailableError)
      metrics.inc('payments_failed_total', { reason: error.reason });
    const retryable = !(error instanceof GatewayRefusedError);
    if (retryable && shouldRequeue(record, request, retry.windowSeconds, Date.now())) {
      if (await requeue(retry, record, request)) {
        orderLog.warn(
          { error: (error as Error).message, receiveCount: record.attributes.ApproximateReceiveCount },
          'payment not completed; re-queued with a fresh receive budget',
        );
        return REQUEUED;
      }
    }
    orderLog.warn(
      { error: (error as Error).message, receiveCount: record.attributes.ApproximateReceiveCount },
      'payment not completed; the message returns to the queue',
    );
    return undefined;
  }
}
