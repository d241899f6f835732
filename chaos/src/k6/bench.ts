/**
 * `npm run bench`: the load benchmark set, through the k6 scenarios, against the lab on
 * loopback. Prints one table:
 * - checkout: the highest arrival rate whose accept p99 stays < 500 ms (and errors < 1 %, and
 *   k6 could offer the rate), by a bounded step search (doubling from BENCH_CHECKOUT_START up to
 *   BENCH_CHECKOUT_MAX);
 * - checkout at a fixed BENCH_CONFIRM_RATE for BENCH_CONFIRM_SECONDS: how many accepted orders
 *   reached a terminal state, and p99 time-to-confirmed;
 * - calls per accepted order to each emulated AWS API during the checkout runs
 *   (`aws_calls_total` from every lab process's /metrics, before and after each run);
 * - browse: menu-read p99 at a fixed rate with the Redis cache on and with the `cache-bypass`
 *   fault flag on, median over BENCH_ROUNDS alternating rounds, and the off/on ratio;
 * - flash sale: attempts made vs offered, units sold vs stock, seconds to the last sale, oversold
 *   units, 5xx answers, 429s answered while units were still available;
 * - CPU: each lab process's share of a core during the busiest run (from /proc).
 * Figures and every run also go to reports/<run-id>/bench.json. Needs `npx cloudcafe lab up`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labPaths, readLabState } from '@cloudcafe/local-platform';
import { newRunId, REPORTS_DIR } from '../journal.js';
import { table } from '../table.js';
import {
  AWS_CALLS_METRIC,
  type AwsCalls,
  apiTotal,
  diffAwsCalls,
  perOrder,
  renameOperation,
  sumAwsCalls,
} from './aws-calls.js';
import { flashTimeline, parseFlashAttempts } from './flash-timeline.js';
import { type LabSample, sampleLab } from './lab-sample.js';
import { type CpuWindow, clockTicksPerSecond, cpuWindow } from './proc-cpu.js';
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
const CHECKOUT_MAX = knob('BENCH_CHECKOUT_MAX', 256, 1, 1000);
const CONFIRM_RATE = knob('BENCH_CONFIRM_RATE', 25, 1, 500);
const CONFIRM_SECONDS = knob('BENCH_CONFIRM_SECONDS', 60, 5, 600);
const CONFIRM_POLL_SECONDS = knob('BENCH_CONFIRM_POLL_SECONDS', 120, 10, 300);
const BROWSE_RATE = knob('BENCH_BROWSE_RATE', 200, 1, 400);
const FLASH_ATTEMPTS = knob('BENCH_FLASH_ATTEMPTS', 20_000, 10, 200_000);
const FLASH_STOCK = knob('BENCH_FLASH_STOCK', 500, 1, 100_000);
const FLASH_RATE = knob('BENCH_FLASH_RATE', 1000, 1, 5000);
const MAX_VUS = knob('BENCH_MAX_VUS', 1500, 10, 2000);
/** The search's poll bound per order; a step's VUs cover it. */
const SEARCH_POLL_SECONDS = 20;
/**
 * VUs made before a checkout run starts: one per arrival of this many seconds. A journey polls
 * its order to terminal (seconds on a loaded lab), and an arrival finding every VU busy is
 * dropped while k6 makes another, which would offer less than the rate under test.
 */
const JOURNEY_SECONDS = 15;
/** The lab left alone this long first: the background calls (pollers, metric flushes) per second. */
const IDLE_SECONDS = 5;
/** A flash buyer's longest wait: inventory's reservation budget (RESERVATION_MAX_WAIT_MS, 8 s) and a second. */
const FLASH_ATTEMPT_SECONDS = 9;

const state = readLabState(labPaths());
if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
if (!isLoopbackUrl(state.gateway)) throw new Error(`not a loopback gateway: ${state.gateway}`);
const lab = state;
const gateway = state.gateway;
const token = readFileSync(state.adminTokenFile, 'utf8').trim();
const runId = newRunId('bench');
const outDir = join(REPORTS_DIR, runId);
mkdirSync(outDir, { recursive: true });
const HZ = clockTicksPerSecond();

interface Metric {
  count?: number;
  rate?: number;
  /** A Rate metric's share (legacy summary export). */
  value?: number;
  med?: number;
  'p(99)'?: number;
}
type Metrics = Record<string, Metric | undefined>;

/** The VU cap for an arrival rate whose iterations take up to `secondsEach`. */
const vusFor = (rate: number, secondsEach: number): number =>
  Math.min(MAX_VUS, Math.max(20, Math.ceil(rate * secondsEach)));

/**
 * Arrivals offered: rate × duration, or what k6 scheduled (made + dropped) when that is more
 * (an arrival-rate executor also starts one at the very end).
 */
const offered = (nominal: number, m: Metrics): number =>
  Math.max(nominal, (m.iterations?.count ?? 0) + (m.dropped_iterations?.count ?? 0));

/** One measured k6 run: its figures, and what the lab spent on it. */
interface Run {
  readonly label: string;
  readonly scenario: LoadScenario;
  readonly knobs: Record<string, string | number>;
  readonly exitCode: number;
  readonly failed: readonly string[];
  readonly metrics: Metrics;
  readonly consoleFile: string;
  /** Orders k6 saw answered 202. */
  readonly accepted: number;
  readonly cpu: CpuWindow;
  /** Calls to the emulated APIs during the run, all processes together; undefined: no counter. */
  readonly awsCalls: AwsCalls | undefined;
  /** The processes whose /metrics carried the counter. */
  readonly awsSources: readonly string[];
}
const runs: Run[] = [];

/** Per process: after − before; then all processes added up. */
function callsBetween(
  before: LabSample,
  after: LabSample,
): { calls: AwsCalls | undefined; sources: string[] } {
  const sources = Object.keys(after.aws).filter((name) => after.aws[name] !== undefined);
  const calls = sumAwsCalls(
    sources.map((name) => {
      const diff = diffAwsCalls(before.aws[name], after.aws[name]);
      // payment-runtime → "payment function": the calls its Lambda instances made.
      const runtime = /^(.+)-runtime$/.exec(name)?.[1];
      return runtime ? renameOperation(diff, 'unknown', `${runtime} function`) : diff;
    }),
  );
  return { calls, sources };
}

/** One k6 run, quiet, with the lab read before and after; a threshold breach is data here. */
async function measure(
  label: string,
  scenario: LoadScenario,
  knobs: Record<string, string | number>,
): Promise<Run> {
  const errors: string[] = [];
  const before = await sampleLab(lab);
  const result = await runK6({
    script: scenarioScript(scenario),
    outDir: join(outDir, `${String(runs.length + 1).padStart(2, '0')}-${scenario}`),
    scriptEnv: loadEnvironment({ runTag: `bench${Date.now().toString(36)}`, knobs }),
    // Quiet, but keep k6's errors: a setup() refusal (unhealthy lab) must not pass as a figure.
    onOutput: (chunk, stream) => {
      if (stream === 'stderr') errors.push(...chunk.split('\n').filter((l) => l.includes('level=error')));
    },
    runId,
    scenario,
  });
  const after = await sampleLab(lab);
  const metrics = (result.summary?.metrics ?? {}) as Metrics;
  if (result.exitCode !== 0 && result.exitCode !== 99) {
    log(`${label}: k6 exit ${result.exitCode}: ${errors.at(-1)?.slice(0, 300) ?? 'no error line'}`);
  }
  const { calls, sources } = callsBetween(before, after);
  const run: Run = {
    label,
    scenario,
    knobs,
    exitCode: result.exitCode,
    failed: result.failedThresholds,
    metrics,
    consoleFile: result.files.console,
    accepted: metrics.cloudcafe_orders_accepted?.count ?? 0,
    cpu: cpuWindow(before.cpu, after.cpu, HZ),
    awsCalls: calls,
    awsSources: sources,
  };
  runs.push(run);
  return run;
}

const round = (n: number | undefined, digits = 1): number =>
  n === undefined ? Number.NaN : Math.round(n * 10 ** digits) / 10 ** digits;
/** A figure, or n/a where there is none. */
const shown = (n: number | undefined, suffix = '', digits = 1): string =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : `${round(n, digits)}${suffix}`;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const log = (line: string) => process.stderr.write(`  ${line}\n`);

// 0. Idle: what the lab calls and burns with nobody ordering (pollers, metric flushes).
const idleBefore = await sampleLab(lab);
await sleep(IDLE_SECONDS * 1000);
const idleAfter = await sampleLab(lab);
const idle = { cpu: cpuWindow(idleBefore.cpu, idleAfter.cpu, HZ), ...callsBetween(idleBefore, idleAfter) };

// 1. Checkout: double the rate until accept p99, the error rate or k6's own capacity breaks.
const steps: { rate: number; p99: number; errors: number; accepted: number; dropped: number; ok: boolean }[] =
  [];
for (let rate = CHECKOUT_START; rate <= CHECKOUT_MAX; rate *= 2) {
  const { metrics } = await measure(`checkout ${rate}/s`, 'checkout', {
    RATE: rate,
    DURATION: `${STEP_SECONDS}s`,
    POLL_SECONDS: SEARCH_POLL_SECONDS,
    VUS: vusFor(rate, SEARCH_POLL_SECONDS + 5),
    PREALLOCATED_VUS: vusFor(rate, JOURNEY_SECONDS),
  });
  const p99 = metrics.cloudcafe_checkout_accept_duration?.['p(99)'] ?? Number.NaN;
  const errors = metrics.cloudcafe_errors?.value ?? 1;
  // An arrival k6 could not start (every VU busy) was never offered: the rate was not tested.
  const dropped = metrics.dropped_iterations?.count ?? 0;
  const ok = p99 < 500 && errors < 0.01 && dropped <= 0.01 * rate * STEP_SECONDS;
  const accepted = metrics.cloudcafe_orders_accepted?.count ?? 0;
  steps.push({ rate, p99: round(p99), errors: round(errors * 100, 2), accepted, dropped, ok });
  log(
    `checkout ${rate}/s: accept p99 ${round(p99)} ms, errors ${round(errors * 100, 2)} %, dropped ${dropped} ${ok ? '✓' : '✗'}`,
  );
  if (!ok) break;
}
const bestCheckout = steps.filter((s) => s.ok).at(-1);

// 2. Checkout at a fixed rate: does every accepted order reach a terminal state, and how fast?
const confirmRun = await measure(`checkout ${CONFIRM_RATE}/s × ${CONFIRM_SECONDS} s`, 'checkout', {
  RATE: CONFIRM_RATE,
  DURATION: `${CONFIRM_SECONDS}s`,
  POLL_SECONDS: CONFIRM_POLL_SECONDS,
  VUS: vusFor(CONFIRM_RATE, CONFIRM_POLL_SECONDS + 5),
  PREALLOCATED_VUS: vusFor(CONFIRM_RATE, JOURNEY_SECONDS),
});
const cm = confirmRun.metrics;
const confirm = {
  rate: CONFIRM_RATE,
  seconds: CONFIRM_SECONDS,
  pollSeconds: CONFIRM_POLL_SECONDS,
  offered: offered(CONFIRM_RATE * CONFIRM_SECONDS, cm),
  made: cm.iterations?.count ?? 0,
  accepted: confirmRun.accepted,
  terminal: cm.cloudcafe_orders_terminal?.count ?? 0,
  confirmed: cm.cloudcafe_time_to_confirmed?.count ?? 0,
  // Not seen terminal: the poll's bound ran out (unresolved), or k6 stopped the journey.
  notTerminal: Math.max(0, confirmRun.accepted - (cm.cloudcafe_orders_terminal?.count ?? 0)),
  unresolved: cm.cloudcafe_orders_unresolved?.count ?? 0,
  acceptP99: cm.cloudcafe_checkout_accept_duration?.['p(99)'],
  timeToConfirmedP99: cm.cloudcafe_time_to_confirmed?.['p(99)'],
  timeToConfirmedP50: cm.cloudcafe_time_to_confirmed?.med,
  errors: cm.cloudcafe_errors?.value,
  exitCode: confirmRun.exitCode,
};
log(
  `checkout ${CONFIRM_RATE}/s × ${CONFIRM_SECONDS} s: ${confirm.terminal}/${confirm.accepted} terminal, time-to-confirmed p99 ${shown(confirm.timeToConfirmedP99, ' ms')}`,
);

// 3. Calls per accepted order to each emulated API, over every checkout run.
const checkoutRuns = runs.filter((r) => r.scenario === 'checkout');
const checkoutAccepted = checkoutRuns.reduce((sum, r) => sum + r.accepted, 0);
const checkoutCalls = sumAwsCalls(checkoutRuns.map((r) => r.awsCalls));
const callsPerOrder = checkoutCalls ? perOrder(checkoutCalls, checkoutAccepted) : undefined;

// 4. Browse: menu reads at a fixed rate, cache on and bypassed, alternating order each round.
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
const browseDropped: Record<'on' | 'off', number> = { on: 0, off: 0 };
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const phase of r % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      await bypass(phase === 'off');
      const { metrics, exitCode } = await measure(`browse ${BROWSE_RATE}/s, cache ${phase}`, 'browse', {
        RATE: BROWSE_RATE,
        DURATION: `${STEP_SECONDS}s`,
        READS: 'menu',
        VUS: vusFor(BROWSE_RATE, 2),
      });
      if (exitCode !== 0 && exitCode !== 99) continue; // no figures from a run that never ran
      const p99 = metrics.cloudcafe_browse_duration?.['p(99)'] ?? Number.NaN;
      browse[phase].push(p99);
      browseP50[phase].push(metrics.cloudcafe_browse_duration?.med ?? Number.NaN);
      hits[phase].push(metrics.cloudcafe_menu_cache_hit?.value ?? Number.NaN);
      browseDropped[phase] += metrics.dropped_iterations?.count ?? 0;
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

// 5. Flash sale: stock already on the shelf cannot be removed, so the sale starts from at least that.
const geisha = (await (await fetch(`${gateway}/api/inventory/LTD-GEISHA-001`)).json()) as {
  available: number;
};
const stock = Math.max(FLASH_STOCK, geisha.available);
const flashRun = await measure(`flash sale ${FLASH_RATE}/s`, 'flash-sale', {
  STOCK: stock,
  ATTEMPTS: FLASH_ATTEMPTS,
  RATE: FLASH_RATE,
  VUS: vusFor(FLASH_RATE, FLASH_ATTEMPT_SECONDS),
});
const fm = flashRun.metrics;
const sold = fm.cloudcafe_flash_sold?.count ?? 0;
const consoleText = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // k6 never got as far as a VU: no timeline
  }
};
const timeline = flashTimeline(parseFlashAttempts(consoleText(flashRun.consoleFile)), stock);
const flash = {
  stock,
  sold,
  oversold: Math.max(fm.cloudcafe_flash_oversold?.count ?? 0, sold - stock, 0),
  fiveXx: fm.cloudcafe_http_5xx?.count ?? 0,
  soldOut: fm.cloudcafe_orders_out_of_stock?.count ?? 0,
  shed: fm.cloudcafe_orders_shed?.count ?? 0,
  // What the scenario offers: RATE a second for ceil(ATTEMPTS / RATE) seconds.
  offered: offered(FLASH_RATE * Math.ceil(FLASH_ATTEMPTS / FLASH_RATE), fm),
  attempts: fm.iterations?.count ?? 0,
  dropped: fm.dropped_iterations?.count ?? 0,
  attemptsPerSecond: fm.iterations?.rate ?? 0,
  secondsToLastSale: timeline.secondsToLastSale,
  lotSoldOut: timeline.soldOut,
  shedWhileAvailable: timeline.shedWhileAvailable,
  timedAttempts: timeline.attempts,
  exitCode: flashRun.exitCode,
  failed: flashRun.failed,
};
log(
  `flash sale: ${flash.attempts} attempts, sold ${sold}/${stock}, 409 ${flash.soldOut}, 429 ${flash.shed}, 5xx ${flash.fiveXx}, k6 exit ${flash.exitCode}`,
);

// 6. CPU: the run with the highest total CPU (lab + bench + k6, per second), process by process.
const busiest = runs.reduce((a, b) => (b.cpu.total > a.cpu.total ? b : a));

const pct = (part: number, whole: number) => (whole > 0 ? `${round((part / whole) * 100)} %` : 'n/a');
const callRows: (string | number)[][] = callsPerOrder
  ? callsPerOrder.map((a) => [
      `calls per accepted order: ${a.api}`,
      shown(a.perOrder, '', 2),
      `${a.calls} calls / ${checkoutAccepted} orders in ${checkoutRuns.length} checkout runs; ${
        a.operations
          .slice(0, 4)
          .map((o) => `${o.operation} ${round(o.perOrder, 2)}`)
          .join(', ') || 'no call'
      }; idle ${shown(apiTotal(idle.calls, a.api) / idle.cpu.seconds, '/s')}`,
    ])
  : [
      [
        'calls per accepted order (every API)',
        'n/a',
        `no lab process exposes ${AWS_CALLS_METRIC} on its /metrics yet`,
      ],
    ];
const rows: (string | number)[][] = [
  [
    'checkout: highest rate with accept p99 < 500 ms',
    bestCheckout ? `${bestCheckout.rate}/s` : `< ${CHECKOUT_START}/s`,
    steps
      .map((s) => `${s.rate}/s→${s.p99}ms${s.dropped > 0 ? ` (${s.dropped} dropped)` : ''}${s.ok ? '' : '✗'}`)
      .join(' '),
  ],
  [
    `checkout @ ${CONFIRM_RATE}/s × ${CONFIRM_SECONDS} s: accepted orders terminal`,
    `${confirm.terminal} / ${confirm.accepted}`,
    `${confirm.confirmed} confirmed, ${confirm.terminal - confirm.confirmed} failed or cancelled; ${confirm.notTerminal} not terminal (${confirm.unresolved} still pending at the ${CONFIRM_POLL_SECONDS} s poll bound); k6 made ${confirm.made} of ${confirm.offered} arrivals; accept p99 ${shown(confirm.acceptP99, ' ms', 0)}`,
  ],
  [
    `checkout @ ${CONFIRM_RATE}/s: time-to-confirmed p99`,
    shown(confirm.timeToConfirmedP99, ' ms', 0),
    `p50 ${shown(confirm.timeToConfirmedP50, ' ms', 0)}, over ${confirm.confirmed} confirmed orders (long polls: seen when the status changed)`,
  ],
  ...callRows,
  ...(['on', 'off'] as const).map((phase) => [
    `browse p99 @ ${BROWSE_RATE}/s, cache ${phase}`,
    `${round(phase === 'on' ? browseOn : browseOff)} ms`,
    `median of ${browse[phase].length}: ${browse[phase].map((x) => round(x)).join(', ')}; p50 ${round(median(browseP50[phase]))} ms; X-Cache HIT ${round(median(hits[phase]) * 100)} %${browseDropped[phase] > 0 ? `; ${browseDropped[phase]} arrivals dropped by k6` : ''}`,
  ]),
  [
    'browse p99 off / on',
    `${round(browseOff / browseOn, 2)}×`,
    `p50 off / on ${round(median(browseP50.off) / median(browseP50.on), 2)}×; cache-bypass flag on the menu service`,
  ],
  [
    'flash sale attempts made / offered',
    pct(flash.attempts, flash.offered),
    `${flash.attempts} of ${flash.offered} at ${FLASH_RATE}/s; ${flash.dropped} dropped by k6 (every VU busy)${flash.exitCode === 0 || flash.exitCode === 99 ? '' : `, run ended early (k6 exit ${flash.exitCode})`}`,
  ],
  [
    'flash sale attempts/s',
    round(flash.attemptsPerSecond),
    `${flash.attempts} attempts at ${FLASH_RATE}/s offered`,
  ],
  [
    'flash sale sold / stock',
    `${sold} / ${stock}`,
    flash.exitCode === 0 ? 'thresholds held' : `k6 exit ${flash.exitCode}: ${flash.failed.join('; ')}`,
  ],
  [
    'flash sale seconds to sell-out',
    flash.lotSoldOut ? shown(flash.secondsToLastSale, ' s') : 'not sold out',
    flash.secondsToLastSale === undefined
      ? `no sale in ${flash.timedAttempts} timed attempts`
      : `first attempt → last sale (202): ${shown(flash.secondsToLastSale, ' s')}; ${shown(sold / flash.secondsToLastSale)} sales/s`,
  ],
  ['flash sale oversold', flash.oversold, 'client 202s beyond stock, and server bookings beyond stock'],
  [
    'flash sale refused cleanly',
    `${flash.soldOut} × 409, ${flash.shed} × 429`,
    '409 sold out; 429 shed while the stock lane was full (nothing reserved, Retry-After)',
  ],
  [
    'flash sale 429 while units available',
    flash.shedWhileAvailable,
    flash.lotSoldOut ? '429s answered before the last unit sold' : 'the lot never sold out: every 429',
  ],
  ['flash sale 5xx', flash.fiveXx, 'zero allowed (the run aborts at the first)'],
  [
    `CPU, busiest run: ${busiest.label}`,
    `${round(busiest.cpu.total)} % of a core`,
    `lab + bench + k6 over ${round(busiest.cpu.seconds)} s; whole machine ${round(busiest.cpu.machine)} % (neighbours included), ${cpus().length} cores`,
  ],
  ...busiest.cpu.shares.map((s) => [
    `  ${s.name}`,
    `${round(s.percent)} %`,
    `${pct(s.percent, busiest.cpu.total)} of the run's total`,
  ]),
];
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')}`;
const runsJson = runs.map(({ metrics: _metrics, consoleFile: _file, ...r }) => r);
writeFileSync(
  join(outDir, 'bench.json'),
  `${JSON.stringify(
    {
      runId,
      gateway,
      machine,
      clockTicksPerSecond: HZ,
      checkout: steps,
      confirm,
      awsCalls: {
        metric: AWS_CALLS_METRIC,
        acceptedOrders: checkoutAccepted,
        calls: checkoutCalls,
        perOrder: callsPerOrder,
        idle: { seconds: idle.cpu.seconds, calls: idle.calls, sources: idle.sources },
      },
      browse: { p99: browse, p50: browseP50, cacheHitShare: hits, dropped: browseDropped },
      flash,
      cpu: { busiest: busiest.label, ...busiest.cpu, idle: idle.cpu },
      runs: runsJson,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(
  `\n${table(['benchmark', 'figure', 'detail'], rows)}\n\nmachine: ${machine}\nreport: reports/${runId}/bench.json\n`,
);
