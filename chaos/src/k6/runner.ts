import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labPaths, PORTS } from '@cloudcafe/local-platform';
import { collectAcknowledgements } from './acknowledgements.js';

/**
 * Runs k6 from Node: the CLI's `load` command and the orchestrator's background load both go
 * through here. k6 is a tool bootstrap installed (AGPL: never vendored), found in the tools dir.
 */

/** k6's exit codes worth telling apart (go.k6.io/k6/errext/exitcodes). */
export const K6_EXIT_CODES = {
  ok: 0,
  thresholdsFailed: 99,
  setupTimeout: 100,
  teardownTimeout: 101,
  genericTimeout: 102,
  genericEngine: 103,
  invalidConfig: 104,
  externalAbort: 105,
  cannotStartRestApi: 106,
  scriptException: 107,
  scriptAborted: 108,
} as const;

/** The k6 binary scripts/bootstrap installed, or a message saying how to get it. */
export function k6Binary(toolsBin: string = labPaths().toolsBin): string {
  const bin = join(toolsBin, 'k6');
  if (!existsSync(bin)) throw new Error(`k6 is not installed at ${bin}: run \`npm run bootstrap\` first`);
  return bin;
}

/**
 * The default address of k6's REST API: 16565 shifted like every other lab port, so two labs
 * (CLOUDCAFE_PORT_OFFSET) can each run load with their live metrics readable.
 */
export function defaultApiAddress(): string {
  // Not k6's default 6565: shifted by a lab offset it can land on ports that fetch() refuses
  // outright (the WHATWG "bad ports": 6566, 6665–6669 for IRC…). From 16565 up, no offset the
  // lab allows reaches one.
  return `127.0.0.1:${16565 + (PORTS.gateway - 8080)}`;
}

export interface K6RunOptions {
  /** The script (absolute, or relative to cwd). */
  readonly script: string;
  /** Where summary.json, summary.txt, k6-console.log and acknowledged-orders.json go (created). */
  readonly outDir: string;
  /** Passed to the script as `__ENV` (`-e NAME=value`), never through k6's own process env. */
  readonly scriptEnv: Readonly<Record<string, string>>;
  /** k6's REST API (live metrics, pause, stop); default {@link defaultApiAddress}. */
  readonly apiAddress?: string;
  /** Called with k6's output as it comes; default: copied to this process's stdout/stderr. */
  readonly onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Aborting it stops k6 gracefully (SIGINT: k6 still runs teardown and writes the summary). */
  readonly signal?: AbortSignal;
  /** Labels written into acknowledged-orders.json. */
  readonly runId?: string;
  readonly scenario?: string;
  /**
   * Where k6 writes every sample it takes (`--out json`; gzipped when the name ends in .gz):
   * the report charts the load from it. Off by default — at bench rates it costs k6 CPU.
   */
  readonly samplesFile?: string;
  /** The working directory for k6 (default: the repository root). */
  readonly cwd?: string;
}

/** One metric of k6's `--summary-export` file (values in ms for time trends). */
export interface K6SummaryMetric {
  readonly count?: number;
  readonly rate?: number;
  readonly value?: number;
  readonly avg?: number;
  readonly min?: number;
  readonly med?: number;
  readonly max?: number;
  readonly 'p(90)'?: number;
  readonly 'p(95)'?: number;
  readonly 'p(99)'?: number;
  readonly passes?: number;
  readonly fails?: number;
  /** Expression → true when the threshold FAILED (the legacy export's meaning). */
  readonly thresholds?: Readonly<Record<string, boolean>>;
}
export interface K6Summary {
  readonly metrics: Readonly<Record<string, K6SummaryMetric>>;
}

export interface K6Result {
  readonly exitCode: number;
  readonly thresholdsFailed: boolean;
  /** `metric: expression` for every threshold that failed. */
  readonly failedThresholds: readonly string[];
  readonly summary: K6Summary | undefined;
  readonly files: {
    readonly summaryJson: string;
    readonly summaryText: string;
    readonly console: string;
    readonly acknowledgements: string;
  };
  readonly acknowledged: number;
  readonly durationMs: number;
}

export interface K6Run {
  readonly pid: number | undefined;
  /** host:port of the REST API while k6 runs (see {@link K6LiveApi}). */
  readonly apiAddress: string;
  /** Resolves when k6 has exited and its files are collected. Never rejects for a k6 failure. */
  readonly done: Promise<K6Result>;
  /** Asks k6 to stop (SIGINT): it ends the scenarios, runs teardown, writes the summary. */
  stop(): void;
}

/**
 * Starts k6 on a script and returns at once. Thresholds are always evaluated (this module
 * never passes --no-thresholds); the exit code is k6's own.
 *
 * @example
 * ```ts
 * const run = startK6({ script, outDir, scriptEnv: { BASE_URL, ADMIN_TOKEN, RATE: '5' } });
 * const live = new K6LiveApi(run.apiAddress);
 * // … later: (await live.metric('cloudcafe_errors'))
 * const result = await run.done;
 * ```
 */
export function startK6(options: K6RunOptions): K6Run {
  mkdirSync(options.outDir, { recursive: true });
  const files = {
    summaryJson: join(options.outDir, 'summary.json'),
    summaryText: join(options.outDir, 'summary.txt'),
    console: join(options.outDir, 'k6-console.log'),
    acknowledgements: join(options.outDir, 'acknowledged-orders.json'),
  };
  const apiAddress = options.apiAddress ?? defaultApiAddress();
  const args = [
    'run',
    `--address=${apiAddress}`,
    `--summary-export=${files.summaryJson}`,
    // p(99) is what the SLOs are written in; k6's default summary stops at p(95). A trend's
    // count says how many samples a percentile stands on (e.g. orders seen confirmed).
    '--summary-trend-stats=count,avg,min,med,max,p(90),p(95),p(99)',
    `--console-output=${files.console}`,
    ...(options.samplesFile ? [`--out=json=${options.samplesFile}`] : []),
    '--no-color',
    options.script,
  ];
  const started = Date.now();
  const child: ChildProcess = spawn(k6Binary(), args, {
    cwd: options.cwd ?? labPaths().root,
    // The script's variables (ADMIN_TOKEN among them) go through the environment, which k6 run
    // passes to __ENV: `-e K=V` would put the token in /proc/<pid>/cmdline, readable by anyone
    // on the machine through `ps`. k6 phones home by default; a lab should not.
    env: { ...process.env, ...options.scriptEnv, K6_NO_USAGE_REPORT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = createWriteStream(files.summaryText);
  const emit =
    options.onOutput ??
    ((chunk: string, stream: 'stdout' | 'stderr') =>
      (stream === 'stdout' ? process.stdout : process.stderr).write(chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    text.write(chunk);
    emit(chunk, 'stdout');
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => emit(chunk, 'stderr'));

  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  };
  options.signal?.addEventListener('abort', stop, { once: true });

  const done = new Promise<K6Result>((resolve) => {
    child.on('error', (error) => {
      emit(`k6 did not start: ${error.message}\n`, 'stderr');
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', stop);
      text.end();
      const exitCode = code ?? (signal ? 128 + 2 : 1);
      const summary = readSummary(files.summaryJson);
      const acks = collectAcknowledgements(files.console, files.acknowledgements, {
        runId: options.runId,
        scenario: options.scenario,
        baseUrl: options.scriptEnv.BASE_URL,
        complete: exitCode === K6_EXIT_CODES.ok || exitCode === K6_EXIT_CODES.thresholdsFailed,
      });
      const failedThresholds = Object.entries(summary?.metrics ?? {}).flatMap(([metric, m]) =>
        Object.entries(m.thresholds ?? {})
          .filter(([, failed]) => failed)
          .map(([expr]) => `${metric}: ${expr}`),
      );
      resolve({
        exitCode,
        thresholdsFailed: exitCode === K6_EXIT_CODES.thresholdsFailed || failedThresholds.length > 0,
        failedThresholds,
        summary,
        files,
        acknowledged: acks.count,
        durationMs: Date.now() - started,
      });
    });
  });
  return { pid: child.pid, apiAddress, done, stop };
}

/** Runs k6 to the end. */
export function runK6(options: K6RunOptions): Promise<K6Result> {
  return startK6(options).done;
}

function readSummary(file: string): K6Summary | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
  } catch {
    return undefined;
  }
}

/** One metric as k6's REST API shows it (`GET /v1/metrics/<name>`). */
export interface K6LiveMetric {
  readonly name: string;
  readonly type: string;
  readonly sample: Readonly<Record<string, number>>;
}

/**
 * k6's REST API on a running test: live metrics for abort checks and reports, and a stop
 * that ends the test the way k6 ends it (teardown runs, summary written).
 */
export class K6LiveApi {
  constructor(readonly address: string) {}

  private async call(path: string, init?: RequestInit): Promise<unknown> {
    const res = await fetch(`http://${this.address}${path}`, { ...init, signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`k6 API ${path}: ${res.status}`);
    return res.json();
  }

  /** `{running, paused, vus, stopped}`. */
  async status(): Promise<{ running: boolean; paused: boolean; vus: number; stopped: boolean }> {
    const body = (await this.call('/v1/status')) as {
      data: { attributes: { running: boolean; paused: boolean; vus: number; stopped: boolean } };
    };
    return body.data.attributes;
  }

  async metrics(): Promise<K6LiveMetric[]> {
    const body = (await this.call('/v1/metrics')) as {
      data: { id: string; attributes: { type: string; sample: Record<string, number> } }[];
    };
    return body.data.map((m) => ({ name: m.id, type: m.attributes.type, sample: m.attributes.sample }));
  }

  async metric(name: string): Promise<K6LiveMetric | undefined> {
    return (await this.metrics()).find((m) => m.name === name);
  }

  /** Ends the test early (k6 exits with its verdict so far). */
  async stop(): Promise<void> {
    await this.call('/v1/status', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { type: 'status', id: 'default', attributes: { stopped: true } } }),
    });
  }
}
