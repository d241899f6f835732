import { DeleteMessageBatchCommand, GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PaymentResult, QUEUES } from '@cloudcafe/contracts';
import type { ServiceApp } from '@cloudcafe/kit';
import { callDependency } from '@cloudcafe/kit';
import Value from 'typebox/value';
import type { Orders } from './orders.js';

/**
 * Consumes `cloudcafe-payment-results.fifo`. A message is deleted only after its result is
 * committed in PostgreSQL, so a crash in between redelivers it; applying is idempotent (a
 * result for an order that already moved on is skipped and counted).
 */
export class PaymentResultsConsumer {
  private readonly stopping = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private queueUrl: string | undefined;

  constructor(
    private readonly app: ServiceApp,
    private readonly orders: Orders,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.pollOnce();
      } catch (err) {
        this.app.log.warn({ err }, 'payment results poll failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async pollOnce(): Promise<number> {
    const queueUrl = await this.url();
    const { Messages = [] } = await callDependency(this.app, 'sqs', () =>
      this.app.aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          // Short enough that shutdown is not held up by a long poll.
          WaitTimeSeconds: 2,
          VisibilityTimeout: 30,
        }),
      ),
    );
    // Applied in order, then deleted together: one DeleteMessageBatch per poll instead of one
    // call per message. A crash in between redelivers results already applied, which skip.
    const applied: string[] = [];
    try {
      for (const message of Messages) {
        await this.apply(message.Body, message.MessageId);
        if (message.ReceiptHandle) applied.push(message.ReceiptHandle);
      }
    } finally {
      if (applied.length > 0) {
        await callDependency(this.app, 'sqs', () =>
          this.app.aws.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: applied.map((handle, n) => ({ Id: String(n), ReceiptHandle: handle })),
            }),
          ),
        );
      }
    }
    return Messages.length;
  }

  private async apply(raw: string | undefined, messageId: string | undefined): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(raw ?? '');
    } catch {
      body = undefined;
    }
    if (!Value.Check(PaymentResult, body)) {
      // A malformed result can never apply; keeping it would block its group forever.
      this.app.log.error({ messageId }, 'malformed payment result dropped');
      return;
    }
    const outcome = await this.orders.applyPaymentResult(body);
    if (outcome === 'duplicate')
      this.app.metrics.inc('events_duplicate_skipped_total', { consumer: 'order' });
    if (outcome === 'unknown')
      this.app.log.warn({ orderId: body.orderId }, 'payment result for an unknown order');
  }

  private async url(): Promise<string> {
    if (!this.queueUrl) {
      const { QueueUrl } = await callDependency(this.app, 'sqs', () =>
        this.app.aws.sqs.send(new GetQueueUrlCommand({ QueueName: QUEUES.paymentResults })),
      );
      if (!QueueUrl) throw new Error(`no queue ${QUEUES.paymentResults}`);
      this.queueUrl = QueueUrl;
    }
    return this.queueUrl;
  }
}
