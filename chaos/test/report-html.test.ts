/// <reference lib="dom" />
// (the page.evaluate callbacks run in the browser)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics } from '@cloudcafe/kit';
import { chromium } from 'playwright-core';
import t from 'tap';
import { type LoadSpan, loadSpans, type Observation, type Sample } from '../src/chart-series.js';
import type { JournalEvent } from '../src/journal.js';
import type { RunSummary } from '../src/report.js';
import { faultWindows, reportHtml, type Window } from '../src/report-html.js';
import { type RouteScrape, type RouteSeries, routeCounts, routeSeries } from '../src/route-metrics.js';
import type { ExperimentResult } from '../src/runner.js';
import { runSeries } from '../src/telemetry.js';
import { type RealK6Load, runRealK6 } from './support/real-k6.js';

// Opens a game-day report in Debian's Chromium (headless, through playwright-core) the way a
// person would and checks what they would look at: the charts render with no console error,
// the fault tags never overlap, every experiment and every fault window has latency and
// throughput points, p95 and p99 are different lines when the data is, and throughput shows
// the load k6 put on. The load part comes from a real k6 run (test/support/real-k6.ts) read
// back from its --out json file; the other experiment has only the synthetic monitor, whose
// requests are generated here (10 a second, timing out during its partition).

/** The bit of Chart.js's global the test reads: each chart's datasets, as drawn. */
interface ChartGlobal {
  getChart(
    id: string,
  ): { data: { datasets: { label: string; data: { x: number; y: number | null }[] }[] } } | undefined;
}

const MONITOR_RATE = 10;
const K6_RATE = 15;

function monitorRequests(from: number, to: number, partitioned: (at: number) => boolean): Observation[] {
  const out: Observation[] = [];
  for (let at = from; at < to; at += 1000 / MONITOR_RATE) {
    const cut = partitioned(at);
    const ms = cut ? 3000 : 3 + Math.random() * 5 + (Math.random() < 0.03 ? 40 : 0);
    out.push({ at: at + ms, ms, failed: cut });
  }
  return out;
}

interface Built {
  summary: RunSummary;
  samples: Sample[];
  windows: Window[];
  loads: LoadSpan[];
  routes: RouteSeries[];
  origin: number;
  load: RealK6Load;
  experiments: { id: string; from: number; to: number }[];
}

async function buildGameDay(): Promise<Built> {
  const origin = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  // warm-up: the monitor alone
  await new Promise((r) => setTimeout(r, 3000));
  const aStart = Date.now();
  const slowFrom = aStart + 2500;
  const slowTo = aStart + 6000;
  // the server's own /metrics, scraped every second as the sampler scrapes each service's
  const metrics = createMetrics({ service: 'order', platform: 'local', processMetrics: false });
  const scrapes: RouteScrape[] = [];
  const scrape = async () =>
    scrapes.push({
      t: Date.now() - origin,
      service: 'order',
      routes: routeCounts((await metrics.prometheus()).body),
    });
  await scrape();
  const scraper = setInterval(scrape, 1000);
  const load = await runRealK6({
    rate: K6_RATE,
    seconds: 8,
    slowMs: 150,
    faultOn: () => Date.now() >= slowFrom && Date.now() < slowTo,
    metrics,
  }).finally(() => clearInterval(scraper));
  await scrape();
  metrics.close();
  const aEnd = Date.now();
  const bStart = aEnd + 1000;
  const cutFrom = bStart + 2000;
  const cutTo = bStart + 7000;
  const bEnd = bStart + 11_000;
  const events = [
    { at: iso(aStart), type: 'experiment.started', experiment: 'network-latency' },
    {
      at: iso(aStart),
      type: 'load.started',
      experiment: 'network-latency',
      scenario: 'checkout',
      rate: K6_RATE,
      samples: load.samples,
    },
    ...faultEvents('network-latency', 'slow inventory link', 't0', slowFrom, slowTo, {
      type: 'latency',
      link: 'order-to-inventory',
      latencyMs: 150,
    }),
    // overlaps the first: their tags would print on top of each other unless stacked
    ...faultEvents('network-latency', 'slow menu link', 't1', slowFrom + 500, slowTo + 500, {
      type: 'latency',
      link: 'order-to-menu',
      latencyMs: 150,
    }),
    { at: iso(aEnd), type: 'load.finished', experiment: 'network-latency' },
    { at: iso(aEnd), type: 'experiment.finished', experiment: 'network-latency' },
    { at: iso(bStart), type: 'experiment.started', experiment: 'network-partition' },
    ...faultEvents('network-partition', 'inventory cut off', 't2', cutFrom, cutTo, {
      type: 'partition',
      link: 'order-to-inventory',
    }),
    // right after the first: adjacent bands, adjacent tags
    ...faultEvents('network-partition', 'menu cut off', 't3', cutTo, cutTo + 1500, {
      type: 'partition',
      link: 'order-to-menu',
    }),
    { at: iso(bEnd), type: 'experiment.finished', experiment: 'network-partition' },
  ].map((e) => e as JournalEvent);
  const observations = [
    ...monitorRequests(origin, aStart, () => false),
    ...monitorRequests(aEnd, bEnd, (at) => at >= cutFrom && at < cutTo),
  ];
  const queues = Array.from({ length: Math.ceil((bEnd - origin) / 1000) }, (_, i) => ({
    t: i * 1000,
    queueDepth: i % 4,
    dlqDepth: 0,
  }));
  const samples = await runSeries({ observations, queues }, events, origin, bEnd);
  const result = (id: string, from: number, to: number): ExperimentResult => ({
    id,
    title: id,
    verdict: 'passed',
    reasons: [],
    startedAt: iso(from),
    finishedAt: iso(to),
    before: [
      { name: 'healthy', ok: true, observed: '200 in 5 ms', status: 200, latencyMs: 5, at: iso(from) },
    ],
    during: [],
    after: [{ name: 'healthy', ok: true, observed: '200 in 6 ms', status: 200, latencyMs: 6, at: iso(to) }],
    faults: [],
    abort: undefined,
    recoveryMs: 1200,
    invariants: [
      { invariant: 'no-lost-orders', ok: true, detail: '12 acknowledged, 12 terminal', examples: [] },
    ],
  });
  return {
    summary: {
      runId: 'test-run',
      name: 'gameday-default',
      platform: 'local',
      startedAt: iso(origin),
      finishedAt: iso(bEnd),
      results: [result('network-latency', aStart, aEnd), result('network-partition', bStart, bEnd)],
    },
    samples,
    windows: faultWindows(events, origin),
    loads: loadSpans(events, origin),
    routes: routeSeries(scrapes),
    origin,
    load,
    experiments: [
      { id: 'network-latency', from: aStart - origin, to: aEnd - origin },
      { id: 'network-partition', from: bStart - origin, to: bEnd - origin },
    ],
  };
}

function faultEvents(experiment: string, fault: string, tag: string, from: number, to: number, spec: object) {
  return [
    { at: new Date(from).toISOString(), type: 'fault.injecting', experiment, fault, tag, spec },
    {
      at: new Date(from + 200).toISOString(),
      type: 'fault.injected',
      experiment,
      fault,
      tag,
      effect: { verified: true },
    },
    { at: new Date(to).toISOString(), type: 'fault.reverted', experiment, fault, tag },
  ];
}

t.test('fault windows come from the journal, in ms since the run began, with type and target', async (t) => {
  const origin = Date.parse('2026-11-21T10:00:00.000Z');
  const events = faultEvents('network-latency', 'slow link', 'x', origin + 5000, origin + 15_000, {
    type: 'latency',
    link: 'order-to-inventory',
    latencyMs: 300,
  }) as JournalEvent[];
  t.same(faultWindows(events, origin), [
    {
      label: 'network-latency: slow link',
      experiment: 'network-latency',
      fault: 'slow link',
      type: 'latency',
      target: 'order-to-inventory',
      from: 5000,
      to: 15000,
      verified: true,
    },
  ]);
});

t.test('a game-day report in headless Chromium: readable tags, honest lines, the real load', async (t) => {
  // Prepare
  const built = await buildGameDay();
  const { windows, samples } = built;
  const overlapping = windows.some((a, i) => windows.some((b, j) => i < j && a.from < b.to && b.from < a.to));
  t.ok(overlapping, 'the game day has faults that overlap in time (the old labels smeared there)');
  const spreadInData = samples.filter((s) => s.p95 !== undefined && s.p99 !== undefined && s.p95 !== s.p99);
  t.ok(spreadInData.length > 0, `the data has seconds where p95 ≠ p99 (${spreadInData.length})`);
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, reportHtml(built.summary, samples, windows, built.loads, built.routes));
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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

  for (const chart of ['latency', 'throughput', 'route-rate', 'route-latency', 'queues']) {
    const tags = page.locator(`.fault-tags[data-chart="${chart}"] .fault-tag`);
    t.equal(await tags.count(), windows.length, `${chart}: one tag per fault window`);
    const boxes = await Promise.all((await tags.all()).map((tag) => tag.boundingBox()));
    const clashes: string[] = [];
    boxes.forEach((a, i) => {
      boxes.forEach((b, j) => {
        if (!a || !b || i >= j) return;
        const apart =
          a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        if (!apart) clashes.push(`${i + 1} and ${j + 1}`);
      });
    });
    t.ok(
      boxes.every((b) => b && b.width > 10 && b.height > 5),
      `${chart}: every tag is laid out and visible`,
    );
    t.same(clashes, [], `${chart}: no two fault tags overlap`);
  }
  t.match(
    await page.locator('#fault-legend').textContent(),
    /1 network-latency: slow inventory link — latency on order-to-inventory.*4 network-partition: menu cut off/s,
    'the legend names every numbered window',
  );

  // what the charts hold, read back from Chart.js in the page
  // (no named functions inside: tsx would wrap them in a helper the page does not have)
  const drawn = (await page.evaluate(() =>
    Object.fromEntries(
      ['latency', 'throughput', 'route-rate', 'route-latency'].map((id) => [
        id,
        Object.fromEntries(
          ((window as unknown as { Chart: ChartGlobal }).Chart.getChart(id)?.data.datasets ?? []).map((d) => [
            d.label,
            d.data,
          ]),
        ),
      ]),
    ),
  )) as Record<
    'latency' | 'throughput' | 'route-rate' | 'route-latency',
    Record<string, { x: number; y: number | null }[]>
  >;
  const within = (series: { x: number; y: number | null }[] | undefined, from: number, to: number) =>
    (series ?? []).filter((p) => p.x * 1000 > from && p.x * 1000 <= to);
  for (const e of built.experiments) {
    for (const line of ['p50', 'p95', 'p99'])
      t.ok(
        within(drawn.latency[line], e.from, e.to).some((p) => p.y !== null),
        `${e.id}: the ${line} line has points`,
      );
    t.ok(
      within(drawn.throughput['requests/s'], e.from, e.to).some((p) => (p.y ?? 0) > 0),
      `${e.id}: throughput has points`,
    );
  }
  for (const w of windows) {
    const gaps = within(drawn.latency.p99, w.from + 1000, w.to).filter((p) => p.y === null);
    t.same(gaps, [], `${w.label}: the p99 line runs through the whole window`);
    t.ok(
      within(drawn.throughput['requests/s'], w.from + 1000, w.to).every((p) => p.y !== null),
      `${w.label}: throughput has a point every second`,
    );
  }
  const p95 = drawn.latency.p95 ?? [];
  const differ = (drawn.latency.p99 ?? []).filter((p, i) => p.y !== null && p.y !== p95[i]?.y);
  t.ok(differ.length > 0, `p95 and p99 are different lines (${differ.length} points apart)`);

  // k6 held K6_RATE iterations/s, three requests each: every full second of its run shows at least that
  const k6From = built.load.startedAt - built.origin + 2000;
  const k6To = built.load.finishedAt - built.origin - 2000;
  const loaded = within(drawn.throughput['requests/s'], k6From, k6To);
  t.ok(loaded.length >= 3, `${loaded.length} full seconds of load`);
  t.same(
    loaded.filter((p) => (p.y ?? 0) < K6_RATE),
    [],
    `throughput ≥ the k6 rate (${K6_RATE}/s) in every second of its run: ${loaded.map((p) => p.y).join(' ')}`,
  );

  const arrivals = within(drawn.throughput['k6 iterations started/s'], k6From, k6To).map((p) => p.y ?? 0);
  const meanArrivals = arrivals.reduce((sum, y) => sum + y, 0) / Math.max(1, arrivals.length);
  t.ok(
    Math.abs(meanArrivals - K6_RATE) <= K6_RATE * 0.3,
    `the k6 iterations line shows the rate it was asked for (${meanArrivals.toFixed(1)}/s vs ${K6_RATE}/s)`,
  );

  // each route k6 called once an iteration, as the server counted it: at the k6 rate
  t.same(
    Object.keys(drawn['route-rate']).sort(),
    ['order GET /api/orders/o-1', 'order GET /menu', 'order GET /order'],
    'a line per route of the load, from the server’s own /metrics',
  );
  for (const [route, line] of Object.entries(drawn['route-rate'])) {
    const rates = within(line, k6From, k6To).map((p) => p.y ?? 0);
    const mean = rates.reduce((sum, y) => sum + y, 0) / Math.max(1, rates.length);
    t.ok(
      rates.length >= 2 && Math.abs(mean - K6_RATE) <= K6_RATE * 0.35,
      `${route}: ${mean.toFixed(1)} requests/s by the server's count, k6 ran ${K6_RATE}/s`,
    );
  }
  const polls = within(drawn['route-latency']['order GET /api/orders/o-1'], k6From, k6To).map(
    (p) => p.y ?? 0,
  );
  t.ok(
    polls.length >= 2 && polls.every((y) => y >= 250),
    `the long poll's p95 shows its 300 ms wait: ${polls.map((y) => Math.round(y)).join(' ')}`,
  );

  const charts = await page.evaluate(() =>
    ['latency', 'throughput', 'route-rate', 'route-latency', 'queues', 'recovery'].map((id) => {
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
  t.match(await page.locator('table').first().textContent(), /network-latency.*passed/s);
  t.match(
    await page.locator('table').nth(1).textContent(),
    /no-lost-orders.*yes.*12 acknowledged/s,
    'the invariant table',
  );
  await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  t.comment(`screenshot: ${join(dir, 'report.png')}`);
});
