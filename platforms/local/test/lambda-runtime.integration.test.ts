import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { QUEUES, TABLES } from '@cloudcafe/contracts';
import t from 'tap';
import { awsEndpointUrl } from '../src/engines/aws.js';
import {
  labPaths,
  labStatus,
  PORTS,
  readLabState,
  signalProcess,
  ToxiproxyClient,
  waitFor,
} from '../src/index.js';

// The payment Lambda inside the local Lambda runtime, on the shared lab (payment in
// CLOUDCAFE_SERVICES). The tests play the order service: they put PaymentRequested messages on
// the requests queue and read PaymentResults from the results queue; the gateway simulator's
// own ledger counts the captures, so "charged once" is checked on the card processor's side.

const state = readLabState(labPaths());
if (!state)
  throw new Error('the lab is not up: run through `npx tap` (its before-hook) or `npx cloudcafe lab up`');
if (!state.services.some((s) => s.name === 'payment')) throw new Error('payment is not in this lab');
const adminToken = readFileSync(state.adminTokenFile, 'utf8').trim();
const auth = { authorization: `Bearer ${adminToken}` };
const runtimeApi = `http://127.0.0.1:${PORTS.lambdaRuntime}/api/payments`;
const gatewaySim = `http://127.0.0.1:${PORTS.paymentGatewaySimulator}/api/payment-gateway`;
const payments = `${state.gateway}/api/payments`;

const ledger = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    region: 'us-east-1',
    endpoint: awsEndpointUrl('dynamodb'),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  }),
);
const sqs = new SQSClient({
  region: 'us-east-1',
  endpoint: awsEndpointUrl('sqs'),
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const queueUrl = async (name: string) =>
  (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';
const requestsUrl = await queueUrl(QUEUES.paymentRequests);
const resultsUrl = await queueUrl(QUEUES.paymentResults);
const dlqUrl = await queueUrl(QUEUES.paymentRequestsDlq);
const toxiproxy = new ToxiproxyClient();
t.teardown(() => sqs.destroy());

interface Payment {
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
  /** Default: now, as the order service writes it. */
  requestedAt?: string;
}

const newPayment = (overrides: Partial<Payment> = {}): Payment => {
  const id = randomUUID().slice(0, 12);
  return { orderId: `rt-${id}`, customerId: `cust-${id}`, amountCents: 525, currency: 'USD', ...overrides };
};

/** Publishes as the order service's outbox does; `dedupSuffix` makes a resend SQS will not drop. */
async function publish(list: Payment[], dedupSuffix = ''): Promise<void> {
  for (let i = 0; i < list.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: requestsUrl,
        Entries: list.slice(i, i + 10).map((p, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({
            type: 'PaymentRequested',
            requestedAt: new Date().toISOString(),
            ...p,
          }),
          MessageGroupId: p.customerId,
          MessageDeduplicationId: `${p.orderId}${dedupSuffix}`,
        })),
      }),
    );
  }
}

type Result = { orderId: string; outcome: string; reason?: string };
const results = new Map<string, Result[]>();

/**
 * Waits until every order has a final entry in the payment ledger (the source of truth) and
 * returns one result per order from it. The results queue is drained on the way, best effort:
 * in a full lab the order service consumes that queue too and may take a result first.
 */
async function awaitResults(list: Payment[], timeoutMs = 60_000): Promise<Result[]> {
  const final = new Map<string, Result>();
  await waitFor(
    `results for ${list.length} payments`,
    async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: resultsUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of Messages) {
        const body = JSON.parse(m.Body ?? '{}') as Result;
        results.set(body.orderId, [...(results.get(body.orderId) ?? []), body]);
      }
      if (Messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: resultsUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
      for (const p of list.filter((p) => !final.has(p.orderId))) {
        const { Item } = await ledger.send(
          new GetCommand({ TableName: TABLES.payments, Key: { orderId: p.orderId } }),
        );
        const status = Item?.status as string | undefined;
        if (status === 'charged' || status === 'declined') {
          final.set(p.orderId, {
            orderId: p.orderId,
            outcome: status,
            ...(typeof Item?.reason === 'string' ? { reason: Item.reason } : {}),
          });
        }
      }
      return final.size === list.length;
    },
    { timeoutMs, intervalMs: 250 },
  );
  return list.map((p) => final.get(p.orderId) as Result);
}

/** Whether this test is the results queue's only reader (no order service in the lab). */
const soleResultsReader = !state.services.some((s) => s.name === 'order');

async function captures(orderId: string): Promise<number> {
  const res = await fetch(`${gatewaySim}/v1/charges?orderId=${encodeURIComponent(orderId)}`);
  const { charges } = (await res.json()) as { charges: { status: string }[] };
  return charges.filter((c) => c.status === 'captured').length;
}

async function capturesPerOrder(list: Payment[]): Promise<number[]> {
  return Promise.all(list.map((p) => captures(p.orderId)));
}

interface RuntimeStatus {
  concurrency: number;
  peakConcurrency: number;
  invocations: number;
  coldStarts: number;
  messagesRetried: number;
  instances: unknown[];
}
/** The runtime's count of second deliveries the ledger turned away (from its /metrics). */
async function duplicatesPrevented(): Promise<number> {
  const text = await (await fetch(`${runtimeApi}/metrics`)).text();
  return Number(/^payment_duplicates_prevented_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

const runtimeStatus = async (): Promise<RuntimeStatus> =>
  (await (await fetch(`${runtimeApi}/runtime`)).json()) as RuntimeStatus;

interface Invocation {
  startedAt: string;
  durationMs: number;
  cold: boolean;
  injectedDelayMs: number;
  outcome: string;
}
const invocationsSince = async (since: number): Promise<Invocation[]> =>
  (
    (await (await fetch(`${runtimeApi}/runtime/invocations?since=${since}`)).json()) as {
      invocations: Invocation[];
    }
  ).invocations;

async function setFlag(base: string, name: string, variant: string, ttlSeconds = 60): Promise<void> {
  const res = await fetch(`${base}/admin/flags/${name}`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ variant, ttlSeconds }),
  });
  if (res.status !== 200) throw new Error(`PUT ${name} answered ${res.status}: ${await res.text()}`);
}

const clearFlag = async (base: string, name: string) => {
  await fetch(`${base}/admin/flags/${name}`, { method: 'DELETE', headers: auth });
};

t.test('payments on the queue are charged once each, with a receipt and a result', async (t) => {
  // Prepare
  const list = Array.from({ length: 6 }, () => newPayment());
  const declined = newPayment({ customerId: `decline-${randomUUID().slice(0, 8)}` });
  // Act
  await publish([...list, declined]);
  const answers = await awaitResults([...list, declined]);
  // Assess
  t.same(
    answers.map((r) => r.outcome),
    [...list.map(() => 'charged'), 'declined'],
  );
  t.same(await capturesPerOrder(list), [1, 1, 1, 1, 1, 1]);
  t.equal(await captures(declined.orderId), 0, 'a declined card is not captured');
  const view = (await (await fetch(`${payments}/${list[0]?.orderId}`)).json()) as {
    status: string;
    receipt: { present: boolean };
  };
  t.match(
    view,
    { status: 'charged', receipt: { present: true } },
    'the front shows the ledger and the receipt',
  );
});

t.test('a duplicated SQS delivery does not charge twice', async (t) => {
  // Prepare
  const list = Array.from({ length: 4 }, () => newPayment());
  const before = await duplicatesPrevented();
  // Act: every request twice, the second with another deduplication id so SQS delivers both
  await publish(list);
  await publish(list, ':resend');
  await awaitResults(list);
  await waitFor(
    'the second copies consumed',
    async () => (await duplicatesPrevented()) >= before + list.length,
  );
  // Assess
  t.same(await capturesPerOrder(list), [1, 1, 1, 1], 'one capture per order at the gateway');
  if (soleResultsReader) {
    t.same(
      list.map((p) => results.get(p.orderId)?.length),
      [1, 1, 1, 1],
      'one result per order (the results queue drops the re-sent one by orderId:outcome)',
    );
  } else {
    t.comment(
      'the order service consumes the results queue in this lab: one result per order is its saga test',
    );
  }
});

t.test('lambda-delay, set through the gateway, delays invocations by its value', async (t) => {
  // Prepare
  t.teardown(() => clearFlag(payments, 'lambda-delay'));
  await setFlag(payments, 'lambda-delay', '1s');
  const listed = (await (await fetch(`${payments}/admin/flags`, { headers: auth })).json()) as {
    flags: { name: string; active: string }[];
  };
  t.match(
    listed.flags.find((f) => f.name === 'lambda-delay'),
    { active: '1s' },
    "the front's flag list shows the runtime's state",
  );
  const since = Date.now();
  const p = newPayment();
  // Act
  await publish([p]);
  await awaitResults([p]);
  // Assess
  const delayed = (await invocationsSince(since)).filter((i) => i.injectedDelayMs === 1000);
  t.ok(delayed.length >= 1, 'an invocation ran with the delay');
  t.ok(
    delayed.every((i) => i.durationMs >= 1000),
    'and took at least that long',
  );
});

t.test('lambda-error makes invocations fail; their messages retry and complete once it is off', async (t) => {
  // Prepare
  t.teardown(() => clearFlag(payments, 'lambda-error'));
  await setFlag(payments, 'lambda-error', '100%');
  const since = Date.now();
  const list = Array.from({ length: 3 }, () => newPayment());
  // Act
  await publish(list);
  await waitFor('an injected invocation error', async () =>
    (await invocationsSince(since)).some((i) => i.outcome === 'injected-error'),
  );
  t.equal(await captures(list[0]?.orderId ?? ''), 0, 'nothing charged while every invocation fails');
  await clearFlag(payments, 'lambda-error');
  const answers = await awaitResults(list);
  // Assess
  t.same(
    answers.map((r) => r.outcome),
    ['charged', 'charged', 'charged'],
  );
  t.same(await capturesPerOrder(list), [1, 1, 1]);
});

t.test('the gateway link cut for a while: messages retry and all complete after it returns', async (t) => {
  // Prepare
  const LINK = 'payment-to-payment-gateway';
  t.teardown(() => toxiproxy.setEnabled(LINK, true));
  const list = Array.from({ length: 5 }, () => newPayment());
  const before = await runtimeStatus();
  await toxiproxy.setEnabled(LINK, false);
  // Act
  await publish(list);
  await waitFor('every message to have failed at least once', async () => {
    return (await runtimeStatus()).messagesRetried >= before.messagesRetried + list.length;
  });
  await toxiproxy.setEnabled(LINK, true);
  const answers = await awaitResults(list, 90_000);
  // Assess
  t.same(
    answers.map((r) => r.outcome),
    list.map(() => 'charged'),
    'none lost',
  );
  t.same(
    await capturesPerOrder(list),
    list.map(() => 1),
    'none charged twice',
  );
});

t.test('the cold-start stress forces fresh instances and reports what they cost', async (t) => {
  // Act
  const res = await fetch(`${payments}/stress/cold-start`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ payments: 24, timeoutSeconds: 120 }),
  });
  t.equal(res.status, 202);
  const { runId } = (await res.json()) as { runId: string };
  let run: { state: string; result?: Record<string, unknown> } = { state: 'running' };
  await waitFor(
    'the cold-start run to finish',
    async () => {
      run = (await (
        await fetch(`${payments}/stress/cold-start/runs/${runId}`, { headers: auth })
      ).json()) as typeof run;
      return run.state !== 'running';
    },
    { timeoutMs: 150_000, intervalMs: 500 },
  );
  // Assess
  t.equal(run.state, 'completed');
  const result = run.result as {
    payments: number;
    completed: number;
    coldStarts: number;
    peakConcurrency: number;
    initMs: { count: number; p50: number };
    endToEndMs: { p50: number; p99: number };
  };
  t.equal(result.completed, 24, 'every payment of the burst reached an outcome');
  t.ok(result.coldStarts >= 2, `the burst started ${result.coldStarts} fresh instances`);
  t.ok(result.peakConcurrency >= 2, `concurrency scaled out to ${result.peakConcurrency}`);
  t.ok(
    result.initMs.count >= 1 && result.initMs.p50 >= 200,
    `each fresh instance paid its init (p50 ${result.initMs.p50} ms over ${result.initMs.count})`,
  );
  t.ok(result.endToEndMs.p99 >= result.endToEndMs.p50, 'percentiles are ordered');
  t.comment(JSON.stringify(result));
});

t.test('SIGKILL of the runtime mid-batch loses nothing and charges nothing twice', async (t) => {
  // Prepare: a slow gateway keeps charges in flight (claimed, not yet recorded) long enough to
  // be killed in the middle of them
  t.teardown(() => clearFlag(gatewaySim, 'payment-gateway-latency'));
  await setFlag(gatewaySim, 'payment-gateway-latency', '3s');
  const list = Array.from({ length: 20 }, () => newPayment());
  const restartsBefore =
    (await labStatus())?.processes.find((p) => p.name === 'payment-runtime')?.restarts ?? 0;
  await publish(list);
  const ledgerStatus = async (orderId: string) => {
    const res = await fetch(`${payments}/${orderId}`);
    return res.status === 200 ? ((await res.json()) as { status: string }).status : undefined;
  };
  await waitFor(
    'a charge in flight: claimed in the ledger, the gateway not yet answered',
    async () => (await Promise.all(list.map((p) => ledgerStatus(p.orderId)))).includes('charging'),
    { timeoutMs: 90_000 },
  );
  // Act
  await signalProcess('payment-runtime', 'SIGKILL');
  await clearFlag(gatewaySim, 'payment-gateway-latency');
  const answers = await awaitResults(list, 120_000);
  // Assess
  t.same(
    answers.map((r) => r.outcome),
    list.map(() => 'charged'),
    'every payment completed',
  );
  t.same(
    await capturesPerOrder(list),
    list.map(() => 1),
    'each exactly once at the gateway',
  );
  const ledger = await Promise.all(
    list.map(async (p) => (await (await fetch(`${payments}/${p.orderId}`)).json()) as { attempts: number }),
  );
  t.ok(
    ledger.some((entry) => entry.attempts > 1),
    'the kill caught charges in flight, and their redelivery resumed them through the idempotency key',
  );
  const restarted = (await labStatus())?.processes.find((p) => p.name === 'payment-runtime');
  t.ok((restarted?.restarts ?? 0) > restartsBefore, 'the supervisor restarted the runtime');
});

/** The payment ledger's entry for an order, through the payment service's HTTP front. */
const ledgerOf = async (orderId: string) =>
  (await (await fetch(`${payments}/${orderId}`)).json()) as { status: string; attempts: number };

/** Reads the DLQ for one order's request, deleting it when found; undefined when it is not there. */
async function takeFromDlq(orderId: string): Promise<string | undefined> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  const mine = Messages.find((m) => m.Body?.includes(orderId));
  if (mine) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: [{ Id: '0', ReceiptHandle: mine.ReceiptHandle }],
      }),
    );
  }
  return mine?.Body;
}

t.test(
  'a transient failure outlasting maxReceiveCount is re-queued, not dead-lettered, and charged once after',
  async (t) => {
    // Prepare
    t.teardown(() => clearFlag(gatewaySim, 'payment-gateway-failure-rate'));
    await setFlag(gatewaySim, 'payment-gateway-failure-rate', '100%', 180);
    const p = newPayment();
    // Act: more failed deliveries than the redrive policy allows one message
    await publish([p]);
    await waitFor(
      'more attempts than one receive budget',
      async () => (await ledgerOf(p.orderId)).attempts > 5,
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    t.equal(await takeFromDlq(p.orderId), undefined, 'nothing in the DLQ');
    await clearFlag(gatewaySim, 'payment-gateway-failure-rate');
    // Assess
    await waitFor(
      'the charge once the gateway is back',
      async () => (await ledgerOf(p.orderId)).status === 'charged',
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    t.equal(await captures(p.orderId), 1, 'charged exactly once');
  },
);

t.test('past the retry window a transient failure lands in the DLQ after maxReceiveCount', async (t) => {
  // Prepare: a request older than PAYMENT_RETRY_WINDOW_SECONDS (600 s by default)
  t.teardown(() => clearFlag(gatewaySim, 'payment-gateway-failure-rate'));
  await setFlag(gatewaySim, 'payment-gateway-failure-rate', '100%', 180);
  const p = newPayment({ requestedAt: new Date(Date.now() - 11 * 60_000).toISOString() });
  // Act
  await publish([p]);
  let dead: string | undefined;
  await waitFor(
    'the request in the DLQ',
    async () => {
      dead = await takeFromDlq(p.orderId);
      return dead !== undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  // Assess
  t.match(JSON.parse(dead ?? '{}'), { orderId: p.orderId, type: 'PaymentRequested' });
  t.equal(await captures(p.orderId), 0, 'never charged');
  const view = await ledgerOf(p.orderId);
  t.equal(view.status, 'charging', 'the ledger still holds the claim: a redrive resumes it');
  t.equal(view.attempts, 5, 'one gateway attempt per delivery');
});
