import { setTimeout as sleep } from 'node:timers/promises';
import { CafeError } from '../errors.js';
import type { FlagStore } from './store.js';

/** The error `withInjectedFaults` throws: a failure made on purpose by `dependency-errors`. */
export class InjectedFaultError extends CafeError {
  override readonly name = 'InjectedFaultError';
  constructor(readonly dependency: string) {
    super('CAFE_ERR_INJECTED_FAULT', `injected fault: call to ${dependency} failed (dependency-errors flag)`);
  }
}

/** Options for {@link withInjectedFaults}. */
export interface InjectedFaultsOptions {
  /** Names the dependency in the error and in dependency_errors_injected_total (default `dependency`). */
  dependency?: string;
  /** Cancels the injected delay. */
  signal?: AbortSignal;
}

/**
 * Wraps one outbound dependency call in the in-app faults: waits `dependency-latency` ms,
 * then with probability `dependency-errors` throws an {@link InjectedFaultError} (counted in
 * `dependency_errors_injected_total`) instead of calling `fn`. With both flags off it only
 * calls `fn`.
 *
 * @example
 * ```ts
 * const rows = await withInjectedFaults(app.flags, () => pool.query(sql, params), {
 *   dependency: 'postgres',
 * });
 * ```
 */
export async function withInjectedFaults<T>(
  flags: FlagStore,
  fn: () => Promise<T>,
  options: InjectedFaultsOptions = {},
): Promise<T> {
  const dependency = options.dependency ?? 'dependency';
  const latencyMs = flags.value('dependency-latency');
  if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: options.signal });
  const errorRate = flags.value('dependency-errors');
  if (errorRate > 0 && Math.random() < errorRate) {
    flags.metrics?.inc('dependency_errors_injected_total', { dependency });
    throw new InjectedFaultError(dependency);
  }
  return fn();
}
