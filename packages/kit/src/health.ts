import Type, { type Static } from 'typebox';

/** Default time a dependency check may take before it counts as failed. */
export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

/** A dependency check: resolves when the dependency answers, rejects (or times out) if not. */
export type HealthCheck = (signal: AbortSignal) => Promise<unknown>;

/** Options for one registered check. */
export interface HealthCheckOptions {
  /** Default {@link DEFAULT_CHECK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Whether a failure makes the instance not ready (default true). */
  readiness?: boolean;
}

/**
 * Why a check failed, as a category only. `/health` is public (load balancers and probes ask
 * it without a token), and a dependency's own message carries hosts, ports and, on AWS, ARNs
 * and account ids: that stays in the service's log.
 */
export const CHECK_FAILURES = ['timeout', 'unreachable', 'failed'] as const;
export type CheckFailure = (typeof CHECK_FAILURES)[number];

/** The result of one check. */
export const CheckResult = Type.Object({
  status: Type.Enum(['ok', 'fail']),
  durationMs: Type.Number(),
  error: Type.Optional(Type.Enum(CHECK_FAILURES, { description: 'Why it failed; the detail is logged' })),
});
export type CheckResult = Static<typeof CheckResult>;

/** The body of `/health` and `/health/ready`. */
export const HealthReport = Type.Object({
  status: Type.Enum(['ok', 'fail', 'shutting_down']),
  service: Type.String(),
  checks: Type.Record(Type.String(), CheckResult),
});
export type HealthReport = Static<typeof HealthReport>;

/** The body of `/health/live`. */
export const LivenessReport = Type.Object({ status: Type.Literal('ok'), service: Type.String() });
export type LivenessReport = Static<typeof LivenessReport>;

/** A report and the HTTP status it is answered with. */
export interface HealthAnswer {
  statusCode: 200 | 503;
  body: HealthReport;
}

/** The dependency checks of one instance and its shutting-down state. */
export interface Health {
  /** Registers a named dependency check (names are unique). */
  register(name: string, check: HealthCheck, options?: HealthCheckOptions): void;
  /** Runs every check in parallel, each bounded by its timeout: 200 if all pass, else 503. */
  check(): Promise<HealthAnswer>;
  /** 503 while shutting down; otherwise the readiness checks' verdict. */
  ready(): Promise<HealthAnswer>;
  /** Always ok while the process can answer. */
  live(): LivenessReport;
  /** Readiness turns false from now on (called first thing by the shutdown). */
  markShuttingDown(): void;
  readonly shuttingDown: boolean;
}

interface Registered {
  check: HealthCheck;
  timeoutMs: number;
  readiness: boolean;
}

/**
 * Creates the health registry of a service: dependency checks by name, each with its own
 * timeout, and the readiness switch the shutdown turns off.
 *
 * @example
 * ```ts
 * app.health.register('postgres', (signal) => pool.query({ text: 'select 1', signal }), {
 *   timeoutMs: 1000,
 * });
 * ```
 */
export function createHealth(options: {
  service: string;
  /** Sees the raw error of a failed check (to log it); the report shows only its category. */
  onFailure?: (check: string, error: unknown) => void;
}): Health {
  const checks = new Map<string, Registered>();
  let shuttingDown = false;

  async function run(filter: (entry: Registered) => boolean): Promise<Record<string, CheckResult>> {
    const entries = [...checks].filter(([, entry]) => filter(entry));
    const results = await Promise.all(
      entries.map(
        async ([name, entry]) =>
          [name, await runOne(entry, (err) => options.onFailure?.(name, err))] as const,
      ),
    );
    return Object.fromEntries(results);
  }

  function answer(checksResult: Record<string, CheckResult>): HealthAnswer {
    const ok = Object.values(checksResult).every((result) => result.status === 'ok');
    return {
      statusCode: ok ? 200 : 503,
      body: { status: ok ? 'ok' : 'fail', service: options.service, checks: checksResult },
    };
  }

  return {
    register(name, check, checkOptions = {}) {
      if (checks.has(name)) throw new Error(`health check ${name} is already registered`);
      checks.set(name, {
        check,
        timeoutMs: checkOptions.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
        readiness: checkOptions.readiness ?? true,
      });
    },
    async check() {
      return answer(await run(() => true));
    },
    async ready() {
      if (shuttingDown)
        return { statusCode: 503, body: { status: 'shutting_down', service: options.service, checks: {} } };
      return answer(await run((entry) => entry.readiness));
    },
    live() {
      return { status: 'ok', service: options.service };
    },
    markShuttingDown() {
      shuttingDown = true;
    },
    get shuttingDown() {
      return shuttingDown;
    },
  };
}

async function runOne(entry: Registered, onFailure: (error: unknown) => void): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`timed out after ${entry.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, entry.timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => entry.check(controller.signal)), timeout]);
    return { status: 'ok', durationMs: elapsed(started) };
  } catch (err) {
    onFailure(err);
    return { status: 'fail', durationMs: elapsed(started), error: failureOf(err, controller.signal.aborted) };
  } finally {
    clearTimeout(timer);
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);

function failureOf(err: unknown, timedOut: boolean): CheckFailure {
  const { name, code, cause } = (err ?? {}) as { name?: unknown; code?: unknown; cause?: unknown };
  if (timedOut || name === 'TimeoutError' || code === 'ETIMEDOUT') return 'timeout';
  if (typeof code === 'string' && UNREACHABLE.has(code)) return 'unreachable';
  // fetch and the AWS SDK wrap the socket error: look one level down.
  const causeCode = (cause as { code?: unknown } | undefined)?.code;
  if (typeof causeCode === 'string' && UNREACHABLE.has(causeCode)) return 'unreachable';
  return 'failed';
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
