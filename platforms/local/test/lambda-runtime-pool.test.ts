import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import t from 'tap';
import { InstanceInvocationError, InstancePool } from '../src/lambda-runtime/instance-pool.js';

// The runtime's execution environments on their own, with a small handler written for the
// test: its module init busy-works for INIT_MS (a stand-in for the payment handler's model
// build, so these tests stay fast), and its body tells it to answer, throw or hang.

const INIT_MS = 300;
const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-lambda-'));
const handlerPath = join(dir, 'handler.mjs');
writeFileSync(
  handlerPath,
  `const until = Date.now() + ${INIT_MS};
while (Date.now() < until) {} // real CPU work at init, as a cold start pays
export const instanceId = Math.random();
export async function handler(event, context) {
  const body = event.Records[0]?.body;
  if (body === 'throw') throw new Error('handler failed');
  if (body === 'hang') await new Promise((r) => setTimeout(r, 60_000));
  if (body === 'env') return { batchItemFailures: [{ itemIdentifier: process.env.FIXTURE_VALUE }] };
  return { batchItemFailures: [], remaining: context.getRemainingTimeInMillis() };
}
`,
);
const brokenPath = join(dir, 'broken.mjs');
writeFileSync(brokenPath, "throw new Error('config: PAYMENT_GATEWAY_URL is required');\n");

const event = (body: string): SQSEvent => ({
  Records: [
    {
      messageId: 'm-1',
      receiptHandle: 'r-1',
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q.fifo',
      awsRegion: 'us-east-1',
    },
  ],
});

function pool(options: { idleMs?: number; path?: string } = {}): InstancePool {
  const created = new InstancePool({
    data: { handlerPath: options.path ?? handlerPath, functionName: 'fixture', memoryMiB: 128 },
    env: { FIXTURE_VALUE: 'from-env' },
    idleMs: options.idleMs ?? 60_000,
    onStdoutLine: () => {},
  });
  t.teardown(() => created.close());
  return created;
}

const soon = (timeoutMs = 10_000) => ({ initTimeoutMs: 30_000, timeoutMs });

t.test('the first invocation pays the init; the next reuses the warm instance', async (t) => {
  // Prepare
  const p = pool();
  // Act
  const first = await p.invoke(event('ok'), 'req-1', soon());
  const second = await p.invoke(event('ok'), 'req-2', soon());
  // Assess
  t.equal(first.cold, true);
  t.ok((first.initMs ?? 0) >= INIT_MS, `init measured at ${first.initMs?.toFixed(0)} ms`);
  t.equal(second.cold, false);
  t.equal(second.initMs, undefined);
  t.equal(second.instanceId, first.instanceId, 'same environment');
  t.same(first.response?.batchItemFailures, []);
});

t.test('an instance sees the environment it was given, and its remaining time', async (t) => {
  const p = pool();
  const answer = await p.invoke(event('env'), 'req-env', soon());
  t.same(answer.response?.batchItemFailures, [{ itemIdentifier: 'from-env' }]);
  const timed = (await p.invoke(event('ok'), 'req-time', soon(5000))).response as { remaining?: number };
  t.ok((timed.remaining ?? 0) > 0 && (timed.remaining ?? 0) <= 5000, 'getRemainingTimeInMillis counts down');
});

t.test('concurrent invocations each get their own instance, each paying its init', async (t) => {
  const p = pool();
  const answers = await Promise.all([1, 2, 3].map((i) => p.invoke(event('ok'), `req-${i}`, soon())));
  t.same(
    answers.map((a) => a.cold),
    [true, true, true],
  );
  t.equal(new Set(answers.map((a) => a.instanceId)).size, 3);
  t.equal(p.view().length, 3);
});

t.test('an idle instance is recycled and the next invocation starts cold', async (t) => {
  // Prepare
  const p = pool({ idleMs: 200 });
  const first = await p.invoke(event('ok'), 'req-1', soon());
  // Act
  t.equal(p.reap(), 0, 'not idle long enough yet');
  await new Promise((r) => setTimeout(r, 300));
  const reaped = p.reap();
  const next = await p.invoke(event('ok'), 'req-2', soon());
  // Assess
  t.equal(reaped, 1);
  t.equal(next.cold, true);
  t.not(next.instanceId, first.instanceId);
});

t.test('an invocation past its timeout is killed with its instance', async (t) => {
  // Prepare
  const p = pool();
  await p.invoke(event('ok'), 'warm-up', soon());
  // Act
  const error = await p.invoke(event('hang'), 'req-hang', soon(500)).catch((e: unknown) => e);
  const after = await p.invoke(event('ok'), 'req-after', soon());
  // Assess: a timed-out error is only given when the pool cut the invocation off; a handler
  // that was waited for would have answered (after 60 s), not timed out. No clock is read:
  // on a loaded machine the cold start alone can take seconds.
  t.ok(error instanceof InstanceInvocationError && error.timedOut, 'a timeout error');
  t.equal(after.cold, true, 'the killed environment is not reused');
});

t.test('a handler error fails the invocation but keeps the instance warm', async (t) => {
  const p = pool();
  await p.invoke(event('ok'), 'warm-up', soon());
  const error = await p.invoke(event('throw'), 'req-throw', soon()).catch((e: unknown) => e);
  t.ok(error instanceof InstanceInvocationError && !error.timedOut);
  t.match((error as Error).message, /handler failed/);
  t.equal((await p.invoke(event('ok'), 'req-after', soon())).cold, false);
});

t.test('a failing init fails the invocation with the init error', async (t) => {
  const p = pool({ path: brokenPath });
  const error = await p.invoke(event('ok'), 'req-1', soon()).catch((e: unknown) => e);
  t.ok(error instanceof InstanceInvocationError);
  t.match((error as Error).message, /PAYMENT_GATEWAY_URL is required/);
  t.equal(p.view().length, 0, 'the broken instance is gone');
});

t.test('recycleAll retires idle instances now and busy ones when they finish', async (t) => {
  const p = pool();
  await p.invoke(event('ok'), 'warm-up', soon());
  t.equal(p.recycleAll(), 1);
  t.equal(p.view().length, 0);
  t.equal((await p.invoke(event('ok'), 'req-after', soon())).cold, true);
});

t.test('an init that outlasts its own bound fails the invocation as a timeout', async (t) => {
  const slowPath = join(dir, 'slow.mjs');
  writeFileSync(
    slowPath,
    'const until = Date.now() + 3000;\nwhile (Date.now() < until) {}\nexport const handler = async () => ({});\n',
  );
  const p = pool({ path: slowPath });
  const error = await p
    .invoke(event('ok'), 'req-1', { initTimeoutMs: 500, timeoutMs: 10_000 })
    .catch((e: unknown) => e);
  t.ok(error instanceof InstanceInvocationError && error.timedOut && error.cold);
  t.match((error as Error).message, /init of instance \d+ timed out/);
  t.equal(p.view().length, 0, 'the environment is not kept');
});
