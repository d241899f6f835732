/**
 * `npm run bench`: the load benchmark set, through the k6 scenarios, against the lab on
 * loopback. Prints one table:
 * - checkout: the highest arrival rate whose accept p99 stays < 500 ms (and errors < 1 %), by a
 *   bounded step search (doubling from BENCH_CHECKOUT_START up to BENCH_CHECKOUT_MAX);
 * - browse: menu-read p99 at a fixed rate with the Redis cache on and with the `cache-bypass`
 *   fault flag on, median over BENCH_ROUNDS alternating rounds, and the off/on ratio;
 * - flash sale: attempts/s, units sold vs stock, oversold units, 5xx answers.
 * Figures and every step also go to reports/<run-id>/bench.json. Needs `npx cloudcafe lab up`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { labPaths, readLabState } from '@cloudcafe/local-platform';
import { newRunId, REPORTS_DIR } from '../journal.js';
import { table } from '../table.js';
import { runK6 } from './runner.js';
import { isLoopbackUrl, type LoadScenario, loadEnvironment, scenarioScript } from './scenarios.js';

function knob(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const ROUNDS = knob('BENCH_ROUNDS', 3, 1, 9);
const STEP_SECONDS = knob('BENCH_STEP_SECONDS', 15, 5, 120);
const CHECKOUT_START = knob('BENCH_CHECKOUT_START', 2, 1, 100);
const CHECKOUT_MAX = knob('BENCH_CHECKOUT_MAX', 64, 1, 1000);
const BROWSE_RATE = knob('BENCH_BROWSE_RATE', 20, 1, 400);
const FLASH_ATTEMPTS = knob('BENCH_FLASH_ATTEMPTS', 20_000, 10, 200_000);
const FLASH_STOCK = knob('BENCH_FLASH_STOCK', 500, 1, 100_000);
const FLASH_RATE = knob('BENCH_FLASH_RATE', 400, 1, 5000);

const state = readLabState(labPaths());
if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
if (!isLoopbackUrl(state.gateway)) throw new Error(`not a loopback gateway: ${state.gateway}`);
const gateway = state.gateway;
const token = readFileSync(state.adminTokenFile, 'utf8').trim();
const runId = newRunId('bench');
const outDir = join(REPORTS_DIR, runId);
mkdirSync(outDir, { recursive: true });

interface Metric {
  count?: number;
  rate?: number;
  /** A Rate metric's share (legacy summary export). */
  value?: number;
  med?: number;
  'p(99)'?: number;
}

let step = 0;
/** One k6 run, quiet; returns its summary metrics and exit code (a threshold breach is data here). */
async function k6(scenario: LoadScenario, knobs: Record<string, string | number>) {
  step++;
  const errors: string[] = [];
  const result = await runK6({
    script: scenarioScript(scenario),
    outDir: join(outDir, `${String(step).padStart(2, '0')}-${scenario}`),
    scriptEnv: loadEnvironment({ runTag: `bench${Date.now().toString(36)}`, knobs }),
    // Quiet, but keep k6's errors: a setup() refusal (unhealthy lab) must not pass as a figure.
    onOutput: (chunk, stream) => {
      if (stream === 'stderr') errors.push(...chunk.split('\n').filter((l) => l.includes('level=error')));
    },
    runId,
    scenario,
  });
  const metrics = (result.summary?.metrics ?? {}) as Record<string, Metric>;
  if (result.exitCode !== 0 && result.exitCode !== 99) {
    log(`${scenario}: k6 exit ${result.exitCode}: ${errors.at(-1)?.slice(0, 300) ?? 'no error line'}`);
  }
  return { exitCode: result.exitCode, metrics, failed: result.failedThresholds };
}

const round = (n: number | undefined, digits = 1): number =>
  n === undefined ? Number.NaN : Math.round(n * 10 ** digits) / 10 ** digits;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const log = (line: string) => process.stderr.write(`  ${line}\n`);

// 1. Checkout: double the rate until accept p99 or the error rate breaks the SLO.
const steps: { rate: number; p99: number; errors: number; ok: boolean }[] = [];
for (let rate = CHECKOUT_START; rate <= CHECKOUT_MAX; rate *= 2) {
  const { metrics } = await k6('checkout', { RATE: rate, DURATION: `${STEP_SECONDS}s`, POLL_SECONDS: 20 });
  const p99 = metrics.cloudcafe_checkout_accept_duration?.['p(99)'] ?? Number.NaN;
  const errors = metrics.cloudcafe_errors?.value ?? 1;
  const ok = p99 < 500 && errors < 0.01;
  steps.push({ rate, p99: round(p99), errors: round(errors * 100, 2), ok });
  log(
    `checkout ${rate}/s: accept p99 ${round(p99)} ms, errors ${round(errors * 100, 2)} % ${ok ? '✓' : '✗'}`,
  );
  if (!ok) break;
}
const bestCheckout = steps.filter((s) => s.ok).at(-1);

// 2. Browse: menu reads at a fixed rate, cache on and bypassed, alternating order each round.
async function bypass(on: boolean): Promise<void> {
  const res = await fetch(`${gateway}/api/menu/admin/flags/cache-bypass`, {
    method: on ? 'PUT' : 'DELETE',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(on && { body: JSON.stringify({ variant: 'on', ttlSeconds: STEP_SECONDS + 60 }) }),
  });
  if (!res.ok) throw new Error(`cache-bypass ${on ? 'on' : 'off'}: ${res.status} ${await res.text()}`);
}
const browse: Record<'on' | 'off', number[]> = { on: [], off: [] };
const browseP50: Record<'on' | 'off', number[]> = { on: [], off: [] };
const hits: Record<'on' | 'off', number[]> = { on: [], off: [] };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const phase of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      await bypass(phase === 'off');
      const { metrics, exitCode } = await k6('browse', {
        RATE: BROWSE_RATE,
        DURATION: `${STEP_SECONDS}s`,
        READS: 'menu',
      });
      if (exitCode !== 0 && exitCode !== 99) continue; // no figures from a run that never ran
      const p99 = metrics.cloudcafe_browse_duration?.['p(99)'] ?? Number.NaN;
      browse[phase].push(p99);
      browseP50[phase].push(metrics.cloudcafe_browse_duration?.med ?? Number.NaN);
      hits[phase].push(metrics.cloudcafe_menu_cache_hit?.value ?? Number.NaN);
      log(
        `browse round ${r + 1}, cache ${phase}: p99 ${round(p99)} ms, X-Cache HIT ${round((hits[phase].at(-1) ?? 0) * 100)} %`,
      );
    }
  }
} finally {
  await bypass(false);
}
const browseOn = median(browse.on);
const browseOff = median(browse.off);

// 3. Flash sale: stock already on the shelf cannot be removed, so the sale starts from at least that.
const geisha = (await (await fetch(`${gateway}/api/inventory/LTD-GEISHA-001`)).json()) as {
  available: number;
};
const stock = Math.max(FLASH_STOCK, geisha.available);
const flash = await k6('flash-sale', { STOCK: stock, ATTEMPTS: FLASH_ATTEMPTS, RATE: FLASH_RATE, VUS: 400 });
const sold = flash.metrics.cloudcafe_flash_sold?.count ?? 0;
const oversold = Math.max(flash.metrics.cloudcafe_flash_oversold?.count ?? 0, sold - stock, 0);
const fiveXx = flash.metrics.cloudcafe_http_5xx?.count ?? 0;
const soldOut = flash.metrics.cloudcafe_orders_out_of_stock?.count ?? 0;
const shed = flash.metrics.cloudcafe_orders_shed?.count ?? 0;
const attempts = flash.metrics.iterations?.count ?? 0;
const attemptsPerSecond = flash.metrics.iterations?.rate ?? 0;
log(
  `flash sale: ${attempts} attempts, sold ${sold}/${stock}, 409 ${soldOut}, 429 ${shed}, 5xx ${fiveXx}, k6 exit ${flash.exitCode}`,
);

const rows: (string | number)[][] = [
  [
    'checkout: highest rate with accept p99 < 500 ms',
    bestCheckout ? `${bestCheckout.rate}/s` : `< ${CHECKOUT_START}/s`,
    steps.map((s) => `${s.rate}/s→${s.p99}ms${s.ok ? '' : '✗'}`).join(' '),
  ],
  ...(['on', 'off'] as const).map((phase) => [
    `browse p99 @ ${BROWSE_RATE}/s, cache ${phase}`,
    `${round(phase === 'on' ? browseOn : browseOff)} ms`,
    `median of ${browse[phase].length}: ${browse[phase].map((x) => round(x)).join(', ')}; p50 ${round(median(browseP50[phase]))} ms; X-Cache HIT ${round(median(hits[phase]) * 100)} %`,
  ]),
  [
    'browse p99 off / on',
    `${round(browseOff / browseOn, 2)}×`,
    `p50 off / on ${round(median(browseP50.off) / median(browseP50.on), 2)}×; cache-bypass flag on the menu service`,
  ],
  ['flash sale attempts/s', round(attemptsPerSecond), `${attempts} attempts at ${FLASH_RATE}/s offered`],
  [
    'flash sale sold / stock',
    `${sold} / ${stock}`,
    flash.exitCode === 0 ? 'thresholds held' : `k6 exit ${flash.exitCode}: ${flash.failed.join('; ')}`,
  ],
  ['flash sale oversold', oversold, 'client 202s beyond stock, and server bookings beyond stock'],
  [
    'flash sale refused cleanly',
    `${soldOut} × 409, ${shed} × 429`,
    '409 sold out; 429 shed while the stock lane was full (nothing reserved, Retry-After)',
  ],
  ['flash sale 5xx', fiveXx, 'zero allowed (the run aborts at the first)'],
];
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')}`;
writeFileSync(
  join(outDir, 'bench.json'),
  `${JSON.stringify({ runId, gateway, machine, checkout: steps, browse: { p99: browse, p50: browseP50, cacheHitShare: hits }, flash: { stock, sold, oversold, soldOut, shed, fiveXx, attempts, attemptsPerSecond, exitCode: flash.exitCode, failed: flash.failed } }, null, 2)}\n`,
);
process.stdout.write(
  `\n${table(['benchmark', 'figure', 'detail'], rows)}\n\nmachine: ${machine}\nreport: reports/${runId}/bench.json\n`,
);
