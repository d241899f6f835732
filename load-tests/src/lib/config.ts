/**
 * What a scenario reads from `__ENV`, validated once at init: a bad knob stops k6 before any
 * traffic is sent, with a message naming the variable. Every knob is bounded so no run is
 * unbounded in time or iterations.
 */

function fail(message: string): never {
  throw new Error(`cloudcafe load: ${message}`);
}

function env(name: string): string | undefined {
  const value = __ENV[name];
  return value === undefined || value === '' ? undefined : value;
}

/** An integer knob from the environment, within [min, max]. */
export function intKnob(name: string, fallback: number, min: number, max: number): number {
  const raw = env(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const DURATION_UNITS = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;

/** A duration knob (`90s`, `5m`, `1h`; a bare number is seconds) in whole seconds, within [min, max]. */
export function durationKnob(name: string, fallback: number, minSeconds: number, maxSeconds: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw);
  const unit = (match?.[2] ?? 's') as keyof typeof DURATION_UNITS;
  const seconds = match ? Math.round(Number(match[1]) * DURATION_UNITS[unit]) : Number.NaN;
  if (!(seconds >= minSeconds && seconds <= maxSeconds)) {
    fail(`${name} must be a duration from ${minSeconds}s to ${maxSeconds}s (e.g. 30s, 5m), got "${raw}"`);
  }
  return seconds;
}

/**
 * True for a URL whose host is the loopback interface. Deployed labs are a later concern: until
 * then a run against anything else needs an explicit ALLOW_REMOTE=true (`--allow-remote`).
 */
export function isLoopback(url: string): boolean {
  const match = /^https?:\/\/(\[[^\]]+\]|[^/:]+)(:\d+)?(\/.*)?$/.exec(url);
  const host = match?.[1]?.toLowerCase();
  return host === 'localhost' || host === '[::1]' || (host !== undefined && /^127(\.\d{1,3}){3}$/.test(host));
}

const baseUrl = (env('BASE_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
if (!isLoopback(baseUrl) && env('ALLOW_REMOTE') !== 'true') {
  fail(
    `BASE_URL ${baseUrl} is not on loopback; set ALLOW_REMOTE=true (--allow-remote) to target a deployed lab`,
  );
}

/** The six services, by the gateway segment each answers under. */
export const ALL_SERVICES = ['orders', 'inventory', 'payments', 'menu', 'loyalty', 'analytics'] as const;

export const CONFIG = {
  baseUrl,
  adminToken: env('ADMIN_TOKEN'),
  /** Gateway segments whose health setup() requires (the CLI passes the lab's own list). */
  services: (env('SERVICES') ?? ALL_SERVICES.join(',')).split(',').filter((s) => s !== ''),
  /** Tags every order's customer and idempotency key, so one run's orders are findable. */
  runTag: (env('RUN_TAG') ?? `run${Date.now().toString(36)}`).replace(/[^A-Za-z0-9-]/g, '').slice(0, 24),
} as const;

/** The admin token, or a clear failure for scenarios that need it (stress, restock, flags). */
export function adminToken(): string {
  return (
    CONFIG.adminToken ?? fail("ADMIN_TOKEN is not set (the CLI reads it from the lab's admin-token file)")
  );
}

/**
 * Extra thresholds from EXTRA_THRESHOLDS (JSON `{metric: [expr, …]}`), appended to a
 * scenario's own: an override can tighten the SLOs (e.g. to prove a breach fails the run),
 * never remove one.
 */
export function withExtraThresholds(
  thresholds: Record<string, ThresholdList>,
): Record<string, ThresholdList> {
  const raw = env('EXTRA_THRESHOLDS');
  if (raw === undefined) return thresholds;
  let extra: unknown;
  try {
    extra = JSON.parse(raw);
  } catch {
    fail(`EXTRA_THRESHOLDS is not JSON: ${raw}`);
  }
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    fail('EXTRA_THRESHOLDS must be a JSON object {metric: [expression, …]}');
  }
  const merged: Record<string, ThresholdList> = { ...thresholds };
  for (const [metric, exprs] of Object.entries(extra as Record<string, unknown>)) {
    const list = Array.isArray(exprs) ? exprs : [exprs];
    if (!list.every((e) => typeof e === 'string'))
      fail(`EXTRA_THRESHOLDS.${metric}: expressions must be strings`);
    merged[metric] = [...(merged[metric] ?? []), ...(list as string[])];
  }
  return merged;
}

export type Threshold = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };
export type ThresholdList = Threshold[];
