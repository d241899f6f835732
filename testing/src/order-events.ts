import { randomUUID } from 'node:crypto';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { type OrderEvent, STREAMS } from '@cloudcafe/contracts';
import { labPaths, readLabState } from '@cloudcafe/local-platform';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// Shared by the loyalty and analytics tests, which run against the lab tap's before-hook brought
// up. They publish their own order events with PutRecords, so they test the consumers alone,
// without depending on the order service.

export function lab() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npx tap` or `npx cloudcafe lab up` first');
  return state;
}

export const kinesis = () =>
  new KinesisClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${lab().ports.aws}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // The emulator speaks HTTP/1.1 only.
    requestHandler: new NodeHttpHandler({ requestTimeout: 5000 }),
  });

/** A unique id prefix per test run, so runs on the same lab never see each other's customers. */
export const RUN = randomUUID().slice(0, 8);

export function confirmed(customerId: string, totalCents: number, at = new Date()): OrderEvent {
  const orderId = `ord-${RUN}-${randomUUID().slice(0, 12)}`;
  const unit = Math.max(1, Math.floor(totalCents / 2));
  return {
    type: 'OrderConfirmed',
    eventId: `evt-${randomUUID()}`,
    orderId,
    customerId,
    occurredAt: at.toISOString(),
    totalCents,
    currency: 'USD',
    items: [
      { sku: 'ESP-001', quantity: 1, unitPriceCents: unit },
      { sku: 'BAK-037', quantity: 1, unitPriceCents: totalCents - unit },
    ],
  };
}

export function cancelled(of: OrderEvent, at = new Date()): OrderEvent {
  return { ...of, type: 'OrderCancelled', eventId: `evt-${randomUUID()}`, occurredAt: at.toISOString() };
}

/** Publishes events (partition key = customerId, as the order service does), retrying throttled ones. */
export async function publish(client: KinesisClient, events: readonly OrderEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    let pending = events.slice(i, i + 500);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 5) throw new Error(`PutRecords kept failing for ${pending.length} records`);
      const answer = await client.send(
        new PutRecordsCommand({
          StreamName: STREAMS.orderEvents,
          Records: pending.map((event) => ({
            PartitionKey: event.customerId,
            Data: Buffer.from(JSON.stringify(event)),
          })),
        }),
      );
      pending = pending.filter((_, index) => answer.Records?.[index]?.ErrorCode !== undefined);
    }
  }
}

export async function getJson<T>(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${lab().gateway}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}
