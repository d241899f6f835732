import type { Logger } from 'pino';

/**
 * The order a service stops in: stop intake (readiness false, server closed, in-flight
 * requests answered), drain in-flight work (stress runs, relays finishing a batch), stop
 * consumers, close resources (pools, clients), flush metrics last so they count everything.
 */
export const SHUTDOWN_PHASES = ['intake', 'drain', 'consumers', 'resources', 'flush'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/** One step of the shutdown; it should stop soon after `signal` fires (the budget is spent). */
export type ShutdownHook = (signal: AbortSignal) => unknown;

/** How one hook went. */
export interface HookReport {
  phase: ShutdownPhase;
  name: string;
  status: 'ok' | 'failed' | 'timed_out';
  durationMs: number;
  error?: string;
}

/** How the whole shutdown went. */
export interface ShutdownReport {
  reason: string;
  /** True when every hook finished in time without error. */
  ok: boolean;
  durationMs: number;
  hooks: HookReport[];
}

/** The graceful shutdown of one process. */
export interface Shutdown {
  /** Adds a hook to a phase; hooks of one phase run together, phases run in order. */
  register(phase: ShutdownPhase, name: string, hook: ShutdownHook): void;
  /** Runs every hook once, the whole bounded by the timeout; later calls get the same report. */
  run(reason: string): Promise<ShutdownReport>;
  /** True once `run` has been called. */
  readonly started: boolean;
}

/** Options for {@link createShutdown}. */
export interface CreateShutdownOptions {
  /** The whole shutdown's budget (config `SHUTDOWN_TIMEOUT_MS`); each hook gets what remains. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Creates the ordered, bounded shutdown of a process. Nothing here listens for signals: the
 * thin server entry (`startServer`) installs SIGTERM/SIGINT and calls `run`.
 *
 * @example
 * ```ts
 * const shutdown = createShutdown({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS, logger });
 * shutdown.register('consumers', 'kinesis poller', (signal) => poller.stop(signal));
 * shutdown.register('resources', 'postgres', () => pool.end());
 * ```
 */
export function createShutdown(options: CreateShutdownOptions): Shutdown {
  const hooks: { phase: ShutdownPhase; name: string; hook: ShutdownHook }[] = [];
  let running: Promise<ShutdownReport> | undefined;

  async function execute(reason: string): Promise<ShutdownReport> {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    const reports: HookReport[] = [];
    options.logger.info({ reason, timeoutMs: options.timeoutMs }, 'shutting down');
    for (const phase of SHUTDOWN_PHASES) {
      const inPhase = hooks.filter((entry) => entry.phase === phase);
      const results = await Promise.all(
        inPhase.map((entry) => runHook(phase, entry.name, entry.hook, deadline - Date.now())),
      );
      reports.push(...results);
    }
    for (const report of reports) {
      if (report.status !== 'ok')
        options.logger.error(report, `shutdown hook ${report.name} ${report.status}`);
    }
    const report = {
      reason,
      ok: reports.every((entry) => entry.status === 'ok'),
      durationMs: Date.now() - started,
      hooks: reports,
    };
    options.logger.info({ ok: report.ok, durationMs: report.durationMs }, 'shutdown finished');
    return report;
  }

  return {
    register(phase, name, hook) {
      if (running) throw new Error(`cannot register shutdown hook ${name}: the shutdown has started`);
      hooks.push({ phase, name, hook });
    },
    run(reason) {
      running ??= execute(reason);
      return running;
    },
    get started() {
      return running !== undefined;
    },
  };
}

const TIMED_OUT = Symbol('timed out');

async function runHook(
  phase: ShutdownPhase,
  name: string,
  hook: ShutdownHook,
  budgetMs: number,
): Promise<HookReport> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  if (budgetMs <= 0) return { phase, name, status: 'timed_out', durationMs: 0, error: 'no time left' };
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`shutdown hook ${name} ran out of time`));
      resolve(TIMED_OUT);
    }, budgetMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => hook(controller.signal)), timeout]);
    if (outcome === TIMED_OUT) {
      return { phase, name, status: 'timed_out', durationMs: elapsed(), error: `exceeded ${budgetMs} ms` };
    }
    return { phase, name, status: 'ok', durationMs: elapsed() };
  } catch (err) {
    return {
      phase,
      name,
      status: 'failed',
      durationMs: elapsed(),
      error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}
