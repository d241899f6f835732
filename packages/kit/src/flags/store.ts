import type { Logger } from 'pino';
import Type, { type Static } from 'typebox';
import { CafeError } from '../errors.js';
import type { Metrics } from '../metrics/registry.js';
import {
  FAULT_FLAGS,
  type FaultFlagDefinition,
  FLAG_NAMES,
  FLAG_TTL_BOUNDS,
  type FlagName,
  type FlagValue,
  type VariantName,
} from './catalogue.js';

/** One flag as the admin API shows it. */
export const FlagState = Type.Object({
  name: Type.String(),
  description: Type.String(),
  services: Type.Array(Type.String()),
  honoured: Type.Boolean({ description: 'Whether this service acts on the flag' }),
  variants: Type.Array(
    Type.Object({ name: Type.String(), value: Type.Union([Type.Number(), Type.Boolean()]) }),
  ),
  active: Type.String({ description: 'The active variant; off unless set and not expired' }),
  value: Type.Union([Type.Number(), Type.Boolean()]),
  setAt: Type.Optional(Type.String({ format: 'date-time' })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
});
export type FlagState = Static<typeof FlagState>;

/** The body of `PUT …/admin/flags/:name`. */
export const SetFlagBody = Type.Object(
  {
    variant: Type.String({ minLength: 1, description: 'A variant label of the flag, e.g. 50%' }),
    ttlSeconds: Type.Integer({
      minimum: FLAG_TTL_BOUNDS.minSeconds,
      maximum: FLAG_TTL_BOUNDS.maxSeconds,
      description: 'The flag reverts to off by itself after this long',
    }),
  },
  { additionalProperties: false },
);
export type SetFlagBody = Static<typeof SetFlagBody>;

/** The fault flags of one instance. Every set expires: a forgotten fault cannot outlive its TTL. */
export interface FlagStore {
  readonly service: string;
  /**
   * Sets a flag to a variant for `ttlSeconds` (1…3600), after which it reverts to off. Names
   * from a request are checked at run time: unknown flag 404, unknown variant or TTL 400.
   */
  set<N extends FlagName>(name: N, variant: VariantName<N>, ttlSeconds: number): FlagState;
  /** Reverts a flag to off now. */
  clear(name: FlagName): FlagState;
  /** The active variant's value (the off value when unset or expired). */
  value<N extends FlagName>(name: N): FlagValue<N>;
  /** Every flag in the catalogue with its state. */
  list(): FlagState[];
  /** One flag's state. */
  get(name: FlagName): FlagState;
  /** Where `withInjectedFaults` counts the errors it injects. */
  readonly metrics: Metrics | undefined;
  /** Cancels the expiry timers (every flag is off afterwards). */
  close(): void;
}

/**
 * Narrows a name from a request to a flag name, or throws `CAFE_ERR_NOT_FOUND` (404).
 *
 * @example
 * ```ts
 * const name = flagNamed(request.params.name);
 * ```
 */
export function flagNamed(name: string): FlagName {
  if (!Object.hasOwn(FAULT_FLAGS, name)) {
    throw new CafeError('CAFE_ERR_NOT_FOUND', `no fault flag named ${name}; known: ${FLAG_NAMES.join(', ')}`);
  }
  return name as FlagName;
}

/** Options for {@link createFlagStore}. */
export interface CreateFlagStoreOptions {
  service: string;
  metrics?: Metrics;
  logger?: Logger;
}

interface Active {
  variant: string;
  setAt: Date;
  expiresAt: Date;
  timer: NodeJS.Timeout;
}

/**
 * Creates the fault-flag store of one instance. Flags live in the process; each set carries
 * a TTL and a timer reverts it, so a flag reverts even if whoever set it (an experiment, a
 * person) dies. Reads also check the expiry, so a late timer never extends a fault.
 *
 * @example
 * ```ts
 * const flags = createFlagStore({ service: 'inventory', metrics, logger });
 * flags.set('dependency-errors', '50%', 60);
 * flags.value('dependency-errors'); // 0.5 for the next minute, then 0
 * ```
 */
export function createFlagStore(options: CreateFlagStoreOptions): FlagStore {
  const active = new Map<FlagName, Active>();
  const log = options.logger;

  const definition = (name: FlagName): FaultFlagDefinition => FAULT_FLAGS[name];
  const honoured = (flag: FaultFlagDefinition) => flag.services.includes(options.service);
  const gauge = (name: FlagName, on: boolean) => {
    if (honoured(FAULT_FLAGS[name])) options.metrics?.set('fault_flag_active', { flag: name }, on ? 1 : 0);
  };
  const current = (name: FlagName): Active | undefined => {
    const entry = active.get(name);
    if (entry && entry.expiresAt.getTime() <= Date.now()) {
      revert(name, 'expired');
      return undefined;
    }
    return entry;
  };
  const revert = (name: FlagName, why: 'expired' | 'cleared') => {
    const entry = active.get(name);
    if (!entry) return;
    clearTimeout(entry.timer);
    active.delete(name);
    gauge(name, false);
    log?.warn({ flag: name, variant: entry.variant, why }, `fault flag ${name} back to off (${why})`);
  };
  const state = (name: FlagName): FlagState => {
    const flag = FAULT_FLAGS[name] as FaultFlagDefinition;
    const entry = current(name);
    const variant = entry?.variant ?? 'off';
    return {
      name,
      description: flag.description,
      services: [...flag.services],
      honoured: honoured(flag),
      variants: Object.entries(flag.variants).map(([label, value]) => ({ name: label, value })),
      active: variant,
      value: flag.variants[variant] ?? flag.variants.off,
      ...(entry && { setAt: entry.setAt.toISOString(), expiresAt: entry.expiresAt.toISOString() }),
    };
  };

  for (const name of FLAG_NAMES) gauge(name, false);

  return {
    service: options.service,
    metrics: options.metrics,
    set(name, variant, ttlSeconds) {
      // Callers from HTTP reach here with unchecked strings: check everything at run time too.
      flagNamed(name);
      const flag = definition(name);
      if (!honoured(flag)) {
        throw new CafeError(
          'CAFE_ERR_VALIDATION',
          `flag ${name} is not honoured by ${options.service} (honoured by: ${flag.services.join(', ')})`,
        );
      }
      if (!Object.hasOwn(flag.variants, variant)) {
        throw new CafeError(
          'CAFE_ERR_VALIDATION',
          `variant: ${name} has no variant ${variant}; valid: ${Object.keys(flag.variants).join(', ')}`,
        );
      }
      const { minSeconds, maxSeconds } = FLAG_TTL_BOUNDS;
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < minSeconds || ttlSeconds > maxSeconds) {
        throw new CafeError(
          'CAFE_ERR_VALIDATION',
          `ttlSeconds: must be an integer between ${minSeconds} and ${maxSeconds}`,
        );
      }
      revert(name, 'cleared');
      if (variant === 'off') return state(name);
      const setAt = new Date();
      const timer = setTimeout(() => revert(name, 'expired'), ttlSeconds * 1000);
      // An expiry timer must not keep a stopping process alive; reads check the expiry anyway.
      timer.unref();
      active.set(name, { variant, setAt, expiresAt: new Date(setAt.getTime() + ttlSeconds * 1000), timer });
      gauge(name, true);
      log?.warn(
        { flag: name, variant, ttlSeconds },
        `fault flag ${name} set to ${variant} for ${ttlSeconds} s`,
      );
      return state(name);
    },
    clear(name) {
      flagNamed(name);
      revert(name, 'cleared');
      return state(name);
    },
    value(name) {
      const flag = FAULT_FLAGS[name] as FaultFlagDefinition;
      const variant = current(name)?.variant ?? 'off';
      return (flag.variants[variant] ?? flag.variants.off) as FlagValue<typeof name>;
    },
    list() {
      return FLAG_NAMES.map(state);
    },
    get(name) {
      return state(flagNamed(name));
    },
    close() {
      for (const entry of active.values()) clearTimeout(entry.timer);
      active.clear();
    },
  };
}
