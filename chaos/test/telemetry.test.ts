import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVICE_REGISTRY } from '@cloudcafe/contracts';
import t from 'tap';
import type { JournalEvent } from '../src/journal.js';
import { ROUTE_SCRAPE_MS } from '../src/route-metrics.js';
import type { Target } from '../src/target.js';
import { MONITOR_DEFAULT_PATHS, startSampler } from '../src/telemetry.js';

// The synthetic monitor against a small HTTP server in this process, as the target's gateway
// (no lab; the target names no data sources, so no queue is read): it keeps its schedule when answers
// stall, rests while the journal says load runs, and watches every service's health when the
// experiment names no GET probe; the route scraper reads every service's /metrics throughout.

/** What a service's /metrics says: 7 checkouts so far, each in the 10 ms bucket. */
const EXPOSITION = [
  '# TYPE http_request_duration_ms histogram',
  ...['5', '10', '+Inf'].map(
    (le) =>
      `http_request_duration_ms_bucket{le="${le}",method="POST",route="/api/orders",status="202"} ${le === '5' ? 0 : 7}`,
  ),
  'http_request_duration_ms_count{method="POST",route="/api/orders",status="202"} 7',
].join('\n');

async function gateway(stallFrom: number, stallTo: number) {
  const paths: string[] = [];
  const scraped: string[] = [];
  const server = createServer((req, res) => {
    if (req.url?.endsWith('/metrics')) {
      scraped.push(req.url);
      // the payment service cannot say: its scrapes fail
      if (req.url.startsWith('/api/payments/')) res.writeHead(502).end();
      else res.end(EXPOSITION);
      return;
    }
    paths.push(req.url ?? '');
    const now = Date.now();
    // a stalled backend: answers only after the monitor's 3 s timeout
    if (now >= stallFrom && now < stallTo) setTimeout(() => res.end('late'), 4000);
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    target: {
      gateway: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      adminToken: () => '',
      sources: () => {
        throw new Error('this test names no data sources');
      },
    } satisfies Target,
    paths,
    scraped,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

t.test('the monitor keeps its schedule through a stall and records the timeouts', async (t) => {
  // Prepare: answers stall from 0.5 s to 1.5 s after the start
  const start = Date.now();
  const gw = await gateway(start + 500, start + 1500);
  t.teardown(gw.close);
  const sampler = startSampler(gw.target, undefined, start);
  sampler.setTargets(['/api/orders/health']);

  // Act
  await new Promise((r) => setTimeout(r, 2500));
  await sampler.stop();

  // Assess
  // on schedule: 25 calls in 2.5 s. Had each call waited for the one before, the one sent into
  // the stall at 0.5 s would hold the rest past its 3 s timeout: 6 calls. 12 is far from both.
  const sent = gw.paths.length;
  t.ok(sent >= 12, `${sent} calls in 2.5 s: the stall did not hold the schedule up`);
  const timedOut = sampler.observations.filter((o) => o.failed && o.ms !== undefined && o.ms >= 2900);
  t.ok(timedOut.length >= 5, `${timedOut.length} calls timed out and count as 3 s of latency`);
  t.ok(
    sampler.observations.some((o) => !o.failed),
    'and the answered ones as successes',
  );
  t.ok(new Set(gw.paths).size === 1 && gw.paths[0] === '/api/orders/health', 'the target it was given');
});

t.test('it rests while load runs and watches every health without targets', async (t) => {
  const gw = await gateway(0, 0);
  t.teardown(gw.close);
  const bus = new EventEmitter();
  const events = { onEvent: (l: (e: JournalEvent) => void) => bus.on('event', l) };
  const emit = (type: string) => bus.emit('event', { at: new Date().toISOString(), type });
  const sampler = startSampler(gw.target, events);

  await new Promise((r) => setTimeout(r, 1000));
  emit('load.started');
  await new Promise((r) => setTimeout(r, 200)); // calls already in flight land
  const before = gw.paths.length;
  await new Promise((r) => setTimeout(r, 1000));
  const during = gw.paths.length - before;
  emit('load.finished');
  await new Promise((r) => setTimeout(r, 1000));
  await sampler.stop();

  t.ok(before >= 5, `${before} calls before the load`);
  t.equal(during, 0, 'none while the load runs');
  t.ok(gw.paths.length - before >= 5, 'calls again once it finished');
  t.same([...new Set(gw.paths)].sort(), [...MONITOR_DEFAULT_PATHS].sort(), "every service's health, in turn");
});

t.test(
  "every service's /metrics is scraped through the run, load or not; one that cannot say is a failure",
  async (t) => {
    // Prepare
    const gw = await gateway(0, 0);
    t.teardown(gw.close);
    const bus = new EventEmitter();
    const sampler = startSampler(gw.target, {
      onEvent: (l: (e: JournalEvent) => void) => bus.on('event', l),
    });

    // Act: a load starts at once and runs through two scrapes
    bus.emit('event', { at: new Date().toISOString(), type: 'load.started' });
    await new Promise((r) => setTimeout(r, ROUTE_SCRAPE_MS + 500));
    await sampler.stop();

    // Assess
    const services = Object.keys(SERVICE_REGISTRY);
    t.ok(
      sampler.routes.length >= 2 * services.length,
      `${sampler.routes.length} scrapes: every service, twice`,
    );
    t.same([...new Set(sampler.routes.map((r) => r.service))].sort(), [...services].sort());
    t.same(
      [...new Set(gw.scraped)].sort(),
      Object.values(SERVICE_REGISTRY)
        .map((s) => `/api/${s.segment}/metrics`)
        .sort(),
    );
    t.ok(
      sampler.routes.filter((r) => r.service === 'payment').every((r) => r.failed),
      'payment answered 502: each of its scrapes is marked failed',
    );
    t.same(sampler.routes.find((r) => r.service === 'order')?.routes?.['POST /api/orders']?.count, 7);
  },
);
