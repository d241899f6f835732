import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labPaths, REPO_ROOT, readLabState } from '@cloudcafe/local-platform';
import t from 'tap';
import { type AcknowledgementFile, readAcknowledgements } from '../src/k6/index.js';

// Runs real k6 against the lab tap's before-hook brought up.

const run = promisify(execFile);
interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}
async function cli(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['chaos/bin/cloudcafe.js', ...args], {
      cwd: REPO_ROOT,
      timeout: 120_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The report folder the CLI printed (`report: reports/<run-id>/`). */
function reportDir(stdout: string): string {
  const m = /\(report: (reports\/[^)\s]+)\/\)/.exec(stdout);
  if (!m?.[1]) throw new Error(`no report path in:\n${stdout.slice(0, 500)}`);
  return join(REPO_ROOT, m[1]);
}

const gateway = (): string => {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up');
  return state.gateway;
};

t.test('load smoke passes its thresholds and writes the summary and acknowledgement files', async (t) => {
  const out = await cli('load', 'smoke');
  t.equal(out.code, 0, `exit 0\n${out.stdout.slice(-1500)}\n${out.stderr.slice(-1500)}`);
  t.match(out.stdout, /verdict\s+PASS/);
  const dir = reportDir(out.stdout);
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
    metrics: Record<string, { count?: number; thresholds?: Record<string, boolean> }>;
  };
  t.ok(summary.metrics.cloudcafe_checkout_accept_duration, 'custom metrics are in the summary');
  t.equal(summary.metrics.cloudcafe_errors?.thresholds?.['rate==0'], false, 'error threshold held');
  t.match(readFileSync(join(dir, 'summary.txt'), 'utf8'), /THRESHOLDS/);
  const acks = readAcknowledgements(join(dir, 'acknowledged-orders.json'));
  t.equal(acks.count, 2, 'smoke places two orders');
  t.equal(acks.complete, true);
});

t.test('a breached threshold fails the run with a non-zero exit', async (t) => {
  // No accept answers in under a microsecond: the added threshold must fail.
  const out = await cli('load', 'smoke', '--threshold', 'cloudcafe_checkout_accept_duration=p(99)<0.001');
  t.equal(out.code, 99, 'k6 exit code for failed thresholds');
  t.match(out.stdout, /✗ threshold\s+cloudcafe_checkout_accept_duration: p\(99\)<0.001/);
  t.match(out.stdout, /verdict\s+FAIL \(k6 exit 99\)/);
});

t.test(
  'flash sale sells at most the stock, answers no 5xx, and every acknowledged order exists',
  async (t) => {
    // A fresh lot per run: stock left on LTD-GEISHA-001 by earlier sales cannot be taken away.
    const sku = `LTD-TEST-${Date.now().toString(36).toUpperCase()}`;
    const stock = 15;
    const out = await cli(
      'load',
      'flash-sale',
      '--sku',
      sku,
      '--stock',
      String(stock),
      '--attempts',
      '60',
      '--rate',
      '12',
    );
    t.equal(out.code, 0, `exit 0\n${out.stdout.slice(-2500)}\n${out.stderr.slice(-1500)}`);
    const dir = reportDir(out.stdout);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
      metrics: Record<string, { count?: number }>;
    };
    t.equal(summary.metrics.cloudcafe_http_5xx?.count ?? 0, 0, 'zero 5xx');
    const acks: AcknowledgementFile = readAcknowledgements(join(dir, 'acknowledged-orders.json'));
    t.ok(acks.count > 0, 'some units sold');
    t.ok(acks.count <= stock, `sold ${acks.count} ≤ stock ${stock}`);
    t.equal(acks.count, summary.metrics.cloudcafe_flash_sold?.count, 'the file holds every 202 k6 counted');
    t.ok((summary.metrics.cloudcafe_orders_out_of_stock?.count ?? 0) > 0, 'the rest were told out of stock');
    for (const order of acks.orders) {
      t.same(order.items, [{ sku, quantity: 1 }]);
      const res = await fetch(`${gateway()}/api/orders/${order.orderId}`);
      t.equal(res.status, 200, `order ${order.orderId} exists`);
    }
    const item = (await (await fetch(`${gateway()}/api/inventory/${sku}`)).json()) as {
      reserved: number;
      sold: number;
    };
    t.ok(item.reserved + item.sold <= stock, `the server booked ${item.reserved + item.sold} ≤ ${stock}`);
  },
);

t.test('an unknown scenario is refused with the list of scenarios', async (t) => {
  const out = await cli('load', 'no-such-scenario');
  t.equal(out.code, 1);
  t.match(out.stderr, /unknown load scenario "no-such-scenario"; choose one of: smoke, browse, checkout/);
});

t.test('a BASE_URL that is not loopback is refused unless --allow-remote', async (t) => {
  const out = await cli('load', 'smoke', '--base-url', 'http://10.20.30.40:8080');
  t.equal(out.code, 1);
  t.match(
    out.stderr,
    /refusing to load http:\/\/10\.20\.30\.40:8080: not a loopback address.*--allow-remote/,
  );
  t.notOk(existsSync(join(REPO_ROOT, 'reports', 'never')), 'nothing ran');
});

t.test('the k6 scripts refuse a remote BASE_URL on their own too (k6 run by hand)', async (t) => {
  const k6 = join(labPaths().toolsBin, 'k6');
  const outcome = await run(
    k6,
    ['run', '-e', 'BASE_URL=http://192.0.2.1', 'load-tests/src/scenarios/smoke.ts'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
      timeout: 30_000,
    },
  ).catch((e: unknown) => e as { code: number; stderr: string });
  t.not((outcome as { code?: number }).code ?? 0, 0, 'k6 exits non-zero');
  t.match((outcome as { stderr: string }).stderr, /BASE_URL http:\/\/192\.0\.2\.1 is not on loopback/);
});
