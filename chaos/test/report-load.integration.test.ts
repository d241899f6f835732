/// <reference lib="dom" />
// (the page.evaluate callbacks run in the browser)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import { chromium } from 'playwright-core';
import t from 'tap';
import type { Annotation } from '../src/annotations.js';
import { loadSpans } from '../src/chart-series.js';
import { experimentFile, loadExperiment } from '../src/experiment/load.js';
import type { JournalEvent } from '../src/journal.js';
import { faultWindows } from '../src/report-html.js';

// Against the lab: runs network-latency (checkout load from k6, a 300 ms toxic for 20 s) as a
// user would, through the CLI, then opens its report in headless Chromium and checks that the
// charts carry the load k6 put on the lab — not a monitor's own few requests — and a line
// through the whole fault window, and that annotations.json holds the window.

interface ChartGlobal {
  getChart(
    id: string,
  ):
    | { data: { datasets: { label: string; data: { x: number; y: number | null; source?: string }[] }[] } }
    | undefined;
}

t.test('a real experiment under k6 load: the report shows that load and the fault window', async (t) => {
  // Prepare
  const experiment = loadExperiment(experimentFile('network-latency'));
  const rate = experiment.load?.rate ?? 0;
  t.ok(rate > 0, `network-latency runs checkout at ${rate}/s`);

  // Act
  const run = spawnSync('npx', ['cloudcafe', 'experiment', 'run', 'network-latency', '--yes'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: process.env,
    timeout: 300_000,
  });

  // Assess
  t.equal(run.status, 0, 'the experiment runs and passes', { output: run.stdout + run.stderr });
  const reportFile = /report:\s+(\S+report\.html)/.exec(run.stdout)?.[1];
  if (!reportFile) throw new Error(`no report path in:\n${run.stdout}`);
  const dir = reportFile.replace(/\/report\.html$/, '');
  const journal = JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf8')) as { events: JournalEvent[] };
  const origin = Date.parse(journal.events[0]?.at ?? '');
  const [load] = loadSpans(journal.events, origin);
  const [fault] = faultWindows(journal.events, origin);
  if (!load || !fault) throw new Error('the journal has no load span or no fault window');

  const annotations = JSON.parse(readFileSync(join(dir, 'annotations.json'), 'utf8')) as Annotation[];
  t.equal(annotations.length, 1, 'annotations.json: the one fault window');
  t.equal(annotations[0]?.time, origin + fault.from, 'from the injection…');
  t.equal(annotations[0]?.timeEnd, origin + fault.to, '…to the revert');
  t.match(annotations[0]?.tags, ['cloudcafe', 'fault'], 'tagged');

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`file://${reportFile}`);
  await page.waitForFunction(() => document.body.dataset.chartsReady === 'true', undefined, {
    timeout: 15_000,
  });
  // (no named functions inside: tsx would wrap them in a helper the page does not have)
  const drawn = (await page.evaluate(() =>
    Object.fromEntries(
      ['latency', 'throughput', 'route-rate'].flatMap((id) =>
        ((window as unknown as { Chart: ChartGlobal }).Chart.getChart(id)?.data.datasets ?? []).map((d) => [
          d.label,
          d.data,
        ]),
      ),
    ),
  )) as Record<string, { x: number; y: number | null; source?: string }[]>;
  const within = (label: string, from: number, to: number) =>
    (drawn[label] ?? []).filter((p) => p.x * 1000 > from && p.x * 1000 <= to);

  // k6's first second is its start-up; its last, the stop
  const loaded = within('requests/s', load.from + 1000, load.to - 1000);
  const mean = loaded.reduce((sum, p) => sum + (p.y ?? 0), 0) / Math.max(1, loaded.length);
  t.ok(loaded.length >= 20, `${loaded.length} seconds of load charted`);
  t.ok(mean >= rate, `throughput during the load ${mean.toFixed(1)} req/s ≥ the k6 rate ${rate}/s`);
  // the chart is k6's own record: every request k6 counted (bar setup()'s few) is on it
  const k6Summary = JSON.parse(readFileSync(join(dir, `k6-${experiment.id}`, 'summary.json'), 'utf8')) as {
    metrics: { http_reqs: { count: number } };
  };
  const counted = k6Summary.metrics.http_reqs.count;
  const charted = (drawn['requests/s'] ?? [])
    .filter((p) => p.source === 'k6')
    .reduce((sum, p) => sum + (p.y ?? 0), 0);
  t.ok(
    charted <= counted && charted >= counted * 0.8,
    `the chart holds k6's requests: ${charted} charted, ${counted} counted by k6 (setup included)`,
  );
  t.ok(
    within('k6 iterations started/s', load.from, load.to).some((p) => (p.y ?? 0) > 0),
    "k6's iterations are on the chart",
  );
  for (const line of ['p50', 'p95', 'p99', 'requests/s'])
    t.same(
      within(line, fault.from + 1000, fault.to).filter((p) => p.y === null),
      [],
      `${line}: a point in every second of the fault window`,
    );
  const tags = await page.locator('.fault-tags[data-chart="latency"] .fault-tag').count();
  t.equal(tags, 1, 'the fault is tagged on the latency chart');

  // the order service's own count of checkout: one POST /api/orders per k6 iteration
  const accepted = within('order POST /api/orders', load.from + 3000, load.to - 3000);
  const perSecond = accepted.reduce((sum, p) => sum + (p.y ?? 0), 0) / Math.max(1, accepted.length);
  t.ok(accepted.length >= 5, `${accepted.length} points of the order service's POST /api/orders`);
  t.ok(
    Math.abs(perSecond - rate) <= rate * 0.5,
    `the order service counted ${perSecond.toFixed(1)} checkouts/s on its /metrics; k6 offered ${rate}/s`,
  );
});
