import { CafeError } from './errors.js';
import type { ServiceApp } from './fastify/types.js';
import { withInjectedFaults } from './flags/inject.js';

/**
 * One outbound call of a Fastify service: the in-app faults first (so `dependency-errors` / `dependency-latency`
 * act on it), its duration recorded, and anything unexpected turned into a 502/504 with a
 * stable code, because a dependency failure is not a bug of this service (500).
 *
 * @example
 * ```ts
 * const item = await callDependency(app, 'dynamodb', () => documentClient.send(new GetCommand(…)));
 * ```
 */
export async function callDependency<T>(
  app: ServiceApp,
  dependency: string,
  fn: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    const result = await withInjectedFaults(app.flags, fn, { dependency });
    app.metrics.observe(
      'dependency_call_duration_ms',
      { dependency, outcome: 'ok' },
      performance.now() - started,
    );
    return result;
  } catch (err) {
    // A refusal the dependency answered on purpose (404, 409…) is a working dependency.
    const answered = (err instanceof CafeError && err.statusCode < 500) || isBusinessError(err);
    app.metrics.observe(
      'dependency_call_duration_ms',
      { dependency, outcome: answered ? 'ok' : 'error' },
      performance.now() - started,
    );
    if (err instanceof CafeError) throw err;
    if (isBusinessError(err)) throw err;
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError' || name === 'RequestTimeout') {
      throw new CafeError('CAFE_ERR_DEPENDENCY_TIMEOUT', `${dependency} timed out`, { cause: err });
    }
    throw new CafeError('CAFE_ERR_DEPENDENCY_FAILED', `${dependency} failed`, { cause: err });
  }
}

// DynamoDB's own refusals (a failed condition, a cancelled transaction) are answers, not
// outages: the caller interprets them.
function isBusinessError(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
}
