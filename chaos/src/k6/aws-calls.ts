import { AWS_APIS, type AwsApi, sumSeries } from '@cloudcafe/kit';

/**
 * Calls to the emulated AWS APIs, from the `aws_calls_total{api,operation}` counter every
 * process built on the kit's `createAwsClients` exposes on its `/metrics`: read before and after
 * a step, the difference per accepted order says what one order costs each emulator.
 */

export const AWS_CALLS_METRIC = 'aws_calls_total';

/** Calls so far by `api` → `operation` → count, for one process or summed over several. */
export type AwsCalls = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * The counter's series in one `/metrics` text, by api and operation, or undefined when the
 * process does not expose the counter at all (not yet instrumented, or no call made yet).
 */
export function parseAwsCalls(text: string): AwsCalls | undefined {
  const pairs = new Set<string>();
  let declared = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(`# TYPE ${AWS_CALLS_METRIC} `)) declared = true;
    if (!line.startsWith(`${AWS_CALLS_METRIC}{`)) continue;
    declared = true;
    const api = /[{,]api="([^"]*)"/.exec(line)?.[1];
    const operation = /[{,]operation="([^"]*)"/.exec(line)?.[1];
    if (api !== undefined && operation !== undefined) pairs.add(JSON.stringify([api, operation]));
  }
  if (!declared) return undefined;
  const calls: Record<string, Record<string, number>> = {};
  for (const pair of pairs) {
    const [api, operation] = JSON.parse(pair) as [string, string];
    calls[api] = { ...calls[api], [operation]: sumSeries(text, AWS_CALLS_METRIC, { api, operation }) };
  }
  return calls;
}

/** Several processes' counts added up; undefined when none of them exposes the counter. */
export function sumAwsCalls(parts: readonly (AwsCalls | undefined)[]): AwsCalls | undefined {
  const present = parts.filter((p): p is AwsCalls => p !== undefined);
  if (present.length === 0) return undefined;
  const out: Record<string, Record<string, number>> = {};
  for (const part of present) {
    for (const [api, ops] of Object.entries(part)) {
      const into: Record<string, number> = out[api] ?? {};
      for (const [op, n] of Object.entries(ops)) into[op] = (into[op] ?? 0) + n;
      out[api] = into;
    }
  }
  return out;
}

/**
 * `after − before`, per api and operation. A counter that went down belongs to a process that
 * restarted during the step; its count since the restart is taken.
 */
export function diffAwsCalls(
  before: AwsCalls | undefined,
  after: AwsCalls | undefined,
): AwsCalls | undefined {
  if (after === undefined) return undefined;
  const out: Record<string, Record<string, number>> = {};
  for (const [api, ops] of Object.entries(after)) {
    out[api] = {};
    for (const [op, n] of Object.entries(ops)) {
      const start = before?.[api]?.[op] ?? 0;
      out[api][op] = n >= start ? n - start : n;
    }
  }
  return out;
}

/**
 * The same counts with one operation renamed: a Lambda runtime counts its function's calls
 * under `unknown` (EMF lines carry the api, not the operation), which a reader should see as
 * the function's.
 */
export function renameOperation(calls: AwsCalls | undefined, from: string, to: string): AwsCalls | undefined {
  if (calls === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(calls).map(([api, ops]) => [
      api,
      Object.fromEntries(Object.entries(ops).map(([op, n]) => [op === from ? to : op, n])),
    ]),
  );
}

/** Total calls of one api (every operation). */
export const apiTotal = (calls: AwsCalls | undefined, api: string): number =>
  Object.values(calls?.[api] ?? {}).reduce((sum, n) => sum + n, 0);

/** One api's calls per accepted order, with its operations busiest first. */
export interface ApiPerOrder {
  readonly api: AwsApi;
  readonly calls: number;
  readonly perOrder: number;
  readonly operations: readonly { readonly operation: string; readonly perOrder: number }[];
}

/** Calls per accepted order for every api (NaN per order when no order was accepted). */
export function perOrder(calls: AwsCalls, accepted: number): ApiPerOrder[] {
  const per = (n: number) => (accepted > 0 ? n / accepted : Number.NaN);
  return AWS_APIS.map((api) => ({
    api,
    calls: apiTotal(calls, api),
    perOrder: per(apiTotal(calls, api)),
    operations: Object.entries(calls[api] ?? {})
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([operation, n]) => ({ operation, perOrder: per(n) })),
  }));
}
