/**
 * `npm run bench:menu`: menu read latency through the lab's gateway at a fixed rate, with the
 * Redis cache on and with it bypassed (the `cache-bypass` fault flag), over several rounds.
 * Prints p50/p99 per round, their medians and the off/on ratio, as a table and as JSON.
 *
 * Open loop: request i is due at start + i/rate and its latency is measured from when it was
 * due, so a slow phase cannot hide its queueing (no coordinated omission). Loopback only, and
 * bounded: rate ≤ 400/s, phase ≤ 60 s, rounds ≤ 9, in-flight ≤ 256.
 *
 * Knobs (environment): BENCH_RATE (default 100), BENCH_SECONDS per phase (10), BENCH_ROUNDS (3).
 * Needs a lab with the menu: `npx cloudcafe lab up` first.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { labPaths, readLabState } from '@cloudcafe/local-platform';

function knob(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const RATE = knob('BENCH_RATE', 100, 1, 400);
const SECONDS = knob('BENCH_SECONDS', 10, 1, 60);
const ROUNDS = knob('BENCH_ROUNDS', 3, 1, 9);
const MAX_IN_FLIGHT = 256;

const state = readLabState(labPaths());
if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(state.gateway))
  throw new Error(`not a loopback gateway: ${state.gateway}`);
const gateway = state.gateway;
const token = readFileSync(state.adminTokenFile, 'utf8').trim();
const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

// What a customer's app reads: the board by category, a search, single items, the categories.
const PATHS = [
  '/api/menu/items?category=espresso',
  '/api/menu/items?category=bakery',
  '/api/menu/items?category=cold-drinks',
  '/api/menu/items?q=latte',
  '/api/menu/items?limit=50',
  '/api/menu/items/flat-white',
  '/api/menu/items/butter-croissant',
  '/api/menu/items/cold-brew',
  '/api/menu/categories',
];

async function setBypass(on: boolean): Promise<void> {
  const res = await fetch(`${gateway}/api/menu/admin/flags/cache-bypass`, {
    method: on ? 'PUT' : 'DELETE',
    headers: admin,
    ...(on && { body: JSON.stringify({ variant: 'on', ttlSeconds: SECONDS * 2 + 30 }) }),
  });
  if (!res.ok) throw new Error(`cache-bypass ${on ? 'on' : 'off'}: ${res.status} ${await res.text()}`);
}

interface Phase {
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  hitShare: number;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
const round = (n: number) => Math.round(n * 100) / 100;

async function phase(): Promise<Phase> {
  const total = RATE * SECONDS;
  const latencies: number[] = [];
  let errors = 0;
  let hits = 0;
  let inFlight = 0;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight >= MAX_IN_FLIGHT) {
      errors += 1; // shed: counted as an error rather than queued without bound
      continue;
    }
    inFlight += 1;
    const path = PATHS[i % PATHS.length] as string;
    pending.push(
      fetch(`${gateway}${path}`)
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) errors += 1;
          if (res.headers.get('x-cache') === 'HIT') hits += 1;
          latencies.push(performance.now() - due);
        })
        .catch(() => {
          errors += 1;
        })
        .finally(() => {
          inFlight -= 1;
        }),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return {
    p50: round(quantile(latencies, 0.5)),
    p99: round(quantile(latencies, 0.99)),
    requests: total,
    errors,
    hitShare: round(hits / total),
  };
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

async function main() {
  process.stdout.write(
    `menu read bench: ${RATE} req/s for ${SECONDS} s per phase, ${ROUNDS} rounds, via ${gateway}\n` +
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ` +
      `load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}\n`,
  );
  await setBypass(false);
  for (const path of PATHS) await (await fetch(`${gateway}${path}`)).arrayBuffer(); // warm the cache
  const on: Phase[] = [];
  const off: Phase[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which phase goes first so a drift over time does not favour one side.
      for (const bypass of r % 2 === 0 ? [false, true] : [true, false]) {
        await setBypass(bypass);
        const result = await phase();
        (bypass ? off : on).push(result);
        process.stdout.write(
          `round ${r + 1} cache ${bypass ? 'off' : 'on '}  p50 ${result.p50} ms  p99 ${result.p99} ms  ` +
            `errors ${result.errors}/${result.requests}  hits ${Math.round(result.hitShare * 100)}%\n`,
        );
      }
    }
  } finally {
    await setBypass(false);
  }
  const summary = {
    rate: RATE,
    secondsPerPhase: SECONDS,
    rounds: ROUNDS,
    cacheOn: { p50: round(median(on.map((p) => p.p50))), p99: round(median(on.map((p) => p.p99))) },
    cacheOff: { p50: round(median(off.map((p) => p.p50))), p99: round(median(off.map((p) => p.p99))) },
    errors: [...on, ...off].reduce((s, p) => s + p.errors, 0),
  };
  const ratio = {
    p50: round(summary.cacheOff.p50 / summary.cacheOn.p50),
    p99: round(summary.cacheOff.p99 / summary.cacheOn.p99),
  };
  process.stdout.write(
    `\nmedians: cache on p50 ${summary.cacheOn.p50} ms p99 ${summary.cacheOn.p99} ms | ` +
      `cache off p50 ${summary.cacheOff.p50} ms p99 ${summary.cacheOff.p99} ms | ` +
      `off/on ratio p50 ${ratio.p50}× p99 ${ratio.p99}×\n`,
  );
  process.stdout.write(`${JSON.stringify({ ...summary, ratio })}\n`);
}

await main();
