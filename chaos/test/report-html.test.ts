/// <reference lib="dom" />
// (the page.evaluate callbacks run in the browser)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import t from 'tap';
import type { RunSummary } from '../src/report.js';
import { faultWindows, reportHtml } from '../src/report-html.js';
import type { ExperimentResult } from '../src/runner.js';
import type { Sample } from '../src/telemetry.js';

// Opens the report in Debian's Chromium (headless, through playwright-core) the way a person
// would, and checks that it renders its charts without a console error.

const origin = Date.parse('2026-11-21T10:00:00.000Z');
const at = (s: number) => new Date(origin + s * 1000).toISOString();

const result: ExperimentResult = {
  id: 'network-latency',
  title: 'A slow link',
  verdict: 'passed',
  reasons: [],
  startedAt: at(0),
  finishedAt: at(30),
  before: [{ name: 'healthy', ok: true, observed: '200 in 5 ms', status: 200, latencyMs: 5, at: at(1) }],
  during: [],
  after: [{ name: 'healthy', ok: true, observed: '200 in 6 ms', status: 200, latencyMs: 6, at: at(25) }],
  faults: [
    {
      name: 'slow link',
      tag: 'cloudcafe-run-0',
      type: 'latency',
      target: 'order-to-inventory',
      injectedAt: at(5),
      revertedAt: at(15),
      effect: { verified: true, detail: 'round trip 0.5 ms → 201 ms' },
      revert: { verified: true, detail: 'round trip back to 0.6 ms' },
    },
  ],
  abort: undefined,
  recoveryMs: 1200,
  invariants: [
    { invariant: 'no-lost-orders', ok: true, detail: '12 acknowledged, 12 terminal', examples: [] },
  ],
};

const summary: RunSummary = {
  runId: 'test-run',
  name: 'gameday-default',
  platform: 'local',
  startedAt: at(0),
  finishedAt: at(30),
  results: [result],
};

const samples: Sample[] = Array.from({ length: 30 }, (_, i) => ({
  t: i * 1000,
  p50: i >= 5 && i < 15 ? 205 : 5,
  p95: i >= 5 && i < 15 ? 230 : 9,
  p99: i >= 5 && i < 15 ? 250 : 12,
  rps: 5,
  errorRate: 0,
  queueDepth: i % 4,
  dlqDepth: 0,
}));

const events = [
  { at: at(5), type: 'fault.injecting', experiment: 'network-latency', fault: 'slow link' },
  {
    at: at(6),
    type: 'fault.injected',
    experiment: 'network-latency',
    fault: 'slow link',
    effect: { verified: true },
  },
  { at: at(15), type: 'fault.reverted', experiment: 'network-latency', fault: 'slow link' },
];

t.test('fault windows come from the journal, in seconds since the run began', async (t) => {
  t.same(faultWindows(events, origin), [
    { label: 'network-latency: slow link', from: 5000, to: 15000, verified: true },
  ]);
});

t.test('the report renders its charts in headless Chromium with no console errors', async (t) => {
  // Prepare
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, reportHtml(summary, samples, faultWindows(events, origin)));
  // playwright gives every launch a fresh, empty profile of its own (no --user-data-dir needed)
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const requests: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) requests.push(r.url());
  });

  // Act
  await page.goto(`file://${file}`);
  await page.waitForFunction(() => document.body.dataset.chartsReady === 'true', undefined, {
    timeout: 15_000,
  });

  // Assess
  t.same(errors, [], 'no console errors');
  t.same(requests, [], 'self-contained: nothing fetched from the network');
  t.equal(await page.locator('#verdict').textContent(), 'PASSED');
  const charts = await page.evaluate(() =>
    ['latency', 'throughput', 'queues', 'recovery'].map((id) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      // a drawn chart has non-blank pixels
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) painted++;
      return { id, width: canvas.width, painted };
    }),
  );
  for (const c of charts)
    t.ok(c.width > 0 && c.painted > 500, `chart ${c.id} is drawn (${c.painted} painted pixels)`);
  t.match(
    await page.locator('table').first().textContent(),
    /network-latency.*passed.*round trip 0\.5 ms → 201 ms/s,
  );
  t.match(
    await page.locator('table').nth(1).textContent(),
    /no-lost-orders.*yes.*12 acknowledged/s,
    'the invariant table',
  );
  await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
});
