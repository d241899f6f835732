import t from 'tap';
import {
  isLongPoll,
  MAX_WINDOW_S,
  mergeSeries,
  type Observation,
  percentile,
  perSecond,
  readK6Record,
} from '../src/chart-series.js';
import { runRealK6 } from './support/real-k6.js';

// The report's per-second series: percentiles that stand on enough requests to mean something,
// throughput that counts what the load sent, and k6's own record of its requests read back.

const origin = Date.parse('2026-11-21T10:00:00.000Z');

/** `count` requests spread over second `s`, with latencies from `ms(i)`. */
function second(s: number, count: number, ms: (i: number) => number, failed = () => false): Observation[] {
  return Array.from({ length: count }, (_, i) => ({
    at: origin + s * 1000 + Math.floor((i * 1000) / count),
    ms: ms(i),
    failed: failed(),
  }));
}

t.test('p95 and p99 differ when the data does, and each second stands on ≥ 100 requests', async (t) => {
  // 200 requests a second: 1..200 ms, so p50 = 100, p95 = 190, p99 = 198
  const observations = [0, 1, 2].flatMap((s) => second(s, 200, (i) => i + 1));
  const samples = perSecond(observations, origin, 3, 'k6');
  t.same(
    samples.map((s) => [s.p50, s.p95, s.p99, s.n, s.windowS, s.rps]),
    [
      [100, 190, 198, 200, 1, 200],
      [100, 190, 198, 200, 1, 200],
      [100, 190, 198, 200, 1, 200],
    ],
  );
});

t.test('under a trickle the window widens until it holds 100 requests, at most 10 s', async (t) => {
  const observations = Array.from({ length: 12 }, (_, s) => second(s, 20, () => 10)).flat();
  const samples = perSecond(observations, origin, 12, 'monitor');
  t.same(
    samples.map((s) => s.windowS),
    [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5],
  );
  t.equal(samples[4]?.n, 100);
  t.same(
    samples.map((s) => s.rps),
    Array(12).fill(20),
    'throughput is per second, not per window',
  );
  // 5 a second never reaches 100: the widest window, and it says so
  const sparse = perSecond(
    Array.from({ length: 12 }, (_, s) => second(s, 5, () => 10)).flat(),
    origin,
    12,
    'monitor',
  );
  t.equal(sparse[11]?.windowS, MAX_WINDOW_S);
  t.equal(sparse[11]?.n, 50);
});

t.test('a stalled second keeps its line: latency from the window, throughput 0', async (t) => {
  // second 1 has nothing (every request hangs), second 2 has the timeouts
  const observations = [
    ...second(0, 10, () => 5),
    ...second(
      2,
      10,
      () => 3000,
      () => true,
    ),
  ];
  const [a, b, c, d] = perSecond(observations, origin, 4, 'monitor');
  t.equal(a?.rps, 10);
  t.equal(b?.rps, 0, 'nothing ended in the stalled second');
  t.equal(b?.p50, 5, 'the latency line goes on from the window');
  t.equal(c?.errorRate, 0.5);
  t.equal(c?.p99, 3000, 'a timeout is latency the client sat through');
  t.ok(d?.n, 'still points after the stall');
  t.same(perSecond([], origin, 1, 'k6'), [{ t: 1000, rps: 0 }], 'no request at all: no latency point');
});

t.test('a refused connection is an error but not a latency', async (t) => {
  const observations: Observation[] = [
    { at: origin + 100, ms: undefined, failed: true },
    { at: origin + 200, ms: 40, failed: false },
  ];
  const [s] = perSecond(observations, origin, 1, 'monitor');
  t.equal(s?.errorRate, 0.5);
  t.equal(s?.p50, 40);
});

t.test("k6's figures while load runs, the monitor's elsewhere", async (t) => {
  const k6 = perSecond(
    second(1, 50, () => 20),
    origin,
    14,
    'k6',
    { iterations: [origin + 1500], dropped: [origin + 1600, origin + 1700] },
  );
  const monitor = perSecond(
    [0, 12, 13].flatMap((s) => second(s, 10, () => 3)),
    origin,
    14,
    'monitor',
  );
  // load from 0.8 s to 4.2 s: seconds 1–3 are k6's (its window still holds second 1's
  // requests until second 10, but after 4.2 s the load is over and the monitor is back)
  const merged = mergeSeries(
    k6,
    monitor,
    [{ t: 1200, queueDepth: 4, dlqDepth: 0 }],
    [{ from: 800, to: 4200 }],
  );
  t.same(
    merged.map((s) => s.source),
    // the monitor's window reaches second 0 until second 9
    ['monitor', 'k6', 'k6', 'k6', ...Array(6).fill('monitor'), undefined, undefined, 'monitor', 'monitor'],
  );
  t.same(
    merged.slice(4, 12).map((s) => s.rps),
    Array(8).fill(0),
    "after the load: the monitor's figures (it had nothing), not k6's stale window",
  );
  t.equal(merged[1]?.iterations, 1);
  t.equal(merged[1]?.dropped, 2);
  t.equal(merged[1]?.queueDepth, 4, 'queue depths go with the second they were read in');
});

t.test('a long poll counts in throughput, not in latency', async (t) => {
  t.ok(isLongPoll({ name: 'get-order', url: 'get-order', long_poll: 'true' }), 'tagged by the script');
  t.notOk(
    isLongPoll({ name: 'get-order', url: 'get-order', long_poll: 'false' }),
    'a read with waitSeconds=0',
  );
  t.ok(isLongPoll({ url: 'http://127.0.0.1:8080/api/orders/o-1?waitSeconds=8' }), 'untagged: by its URL');
  t.notOk(isLongPoll({ url: 'http://127.0.0.1:8080/api/orders/o-1?waitSeconds=0' }));
  t.notOk(isLongPoll({ url: 'http://127.0.0.1:8080/api/orders' }));
});

t.test('nearest-rank percentiles', async (t) => {
  t.equal(percentile([1, 2, 3, 4, 5], 50), 3);
  t.equal(percentile([1, 2, 3, 4, 5], 99), 5);
  t.equal(percentile([], 50), undefined);
});

t.test("k6's --out json record reads back as the requests it made", async (t) => {
  // Prepare: a real k6 run, 3 s at 10 iterations/s, three requests each (one a long poll)
  const load = await runRealK6({ rate: 10, seconds: 3 });
  // Act
  const record = await readK6Record(load.samples);
  // Assess
  t.equal(record.requests.length, load.requests, 'one observation per request the server answered');
  t.ok(
    record.iterations.length >= 25 && record.iterations.length <= 31,
    `${record.iterations.length} iterations`,
  );
  t.ok(
    record.requests.every((r) => r.at >= load.startedAt && r.at <= load.finishedAt && !r.failed),
    'timestamps inside the run, all answered',
  );
  const polls = record.requests.filter((r) => r.ms === undefined);
  t.equal(polls.length, record.iterations.length, 'the long polls carry no latency');
  t.ok(
    // ms, not seconds: the server waits at least 2 ms (a Node timer may fire up to 1 ms early,
    // as it counts from the loop's cached time), which in seconds would read 0.002
    record.requests.every((r) => r.ms === undefined || r.ms >= 1),
    'durations in ms (the server waits at least 2 ms); the polls, told apart by their tag, are left out',
  );
  t.ok(
    record.iterations.every((at) => at >= load.startedAt && at <= load.finishedAt - 300),
    'iterations are stamped when they started (each ends after its 300 ms poll)',
  );
  t.same(await readK6Record('/nonexistent/samples.json.gz'), { requests: [], iterations: [], dropped: [] });
});
