import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import t from 'tap';
import { isLoopbackUrl, parseAcknowledgements } from '../src/k6/index.js';

const run = promisify(execFile);

t.test('acknowledgement lines from k6 console output become orders, each once', async (t) => {
  const log = [
    'time="2026-11-21T15:31:29Z" level=info msg="CLOUDCAFE_ACK 820c0a52-af3f r1-cust-321 LATTE-12*1,PAINCHOC*2 1795275089179 r1-1-0-1" source=console',
    'time="2026-11-21T15:31:29Z" level=warning msg="flash sale: 30 units" source=console',
    'time="2026-11-21T15:31:30Z" level=info msg="CLOUDCAFE_ACK 820c0a52-af3f r1-cust-321 LATTE-12*1,PAINCHOC*2 1795275089179 r1-1-0-1" source=console',
  ].join('\n');
  const orders = parseAcknowledgements(log);
  t.same(orders, [
    {
      orderId: '820c0a52-af3f',
      customerId: 'r1-cust-321',
      items: [
        { sku: 'LATTE-12', quantity: 1 },
        { sku: 'PAINCHOC', quantity: 2 },
      ],
      acknowledgedAt: new Date(1795275089179).toISOString(),
      idempotencyKey: 'r1-1-0-1',
    },
  ]);
});

t.test('loopback means 127.0.0.0/8, localhost and [::1] only', async (t) => {
  t.ok(isLoopbackUrl('http://127.0.0.1:8580'));
  t.ok(isLoopbackUrl('http://localhost:8080/'));
  t.ok(isLoopbackUrl('http://[::1]:8080'));
  t.notOk(isLoopbackUrl('http://10.0.0.1:8080'));
  t.notOk(isLoopbackUrl('http://127.0.0.1.example.com'));
  t.notOk(isLoopbackUrl('not a url'));
});

t.test('the k6 scripts type-check against @types/k6 (k6 itself only strips types)', async (t) => {
  const outcome = await run(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'load-tests/tsconfig.json'],
    {
      cwd: REPO_ROOT,
      timeout: 120_000,
    },
  ).catch((e: unknown) => e as { code: number; stdout: string });
  t.equal((outcome as { code?: number }).code ?? 0, 0, (outcome as { stdout: string }).stdout);
});
