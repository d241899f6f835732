/**
 * Every fault flag in CloudCafe, listed once: what it does, which services honour it, and its
 * ladder of variants. A variant's label says its value (`10%` is 0.1, `200ms` is 200, `1s` is
 * 1000), and every flag has `off`, the value it reverts to when its TTL runs out.
 *
 * Fractions are the probability that one call fails; durations are milliseconds added.
 */
export const FAULT_FLAGS = {
  'dependency-errors': {
    description: 'Fraction of outbound dependency calls (database, cache, queue, HTTP) that fail',
    services: ['order', 'inventory', 'payment', 'menu', 'loyalty', 'analytics'],
    variants: { off: 0, '10%': 0.1, '25%': 0.25, '50%': 0.5, '100%': 1 },
  },
  'dependency-latency': {
    description: 'Milliseconds added to every outbound dependency call',
    services: ['order', 'inventory', 'payment', 'menu', 'loyalty', 'analytics'],
    variants: { off: 0, '100ms': 100, '200ms': 200, '500ms': 500, '1s': 1000, '5s': 5000 },
  },
  'payment-gateway-failure-rate': {
    description: 'Fraction of charges the payment gateway simulator declines with a gateway error',
    services: ['payment-gateway'],
    variants: { off: 0, '10%': 0.1, '25%': 0.25, '50%': 0.5, '100%': 1 },
  },
  'payment-gateway-latency': {
    description: 'Milliseconds the payment gateway simulator waits before answering a charge',
    services: ['payment-gateway'],
    variants: { off: 0, '200ms': 200, '1s': 1000, '3s': 3000, '10s': 10_000 },
  },
  'lambda-delay': {
    description: 'Milliseconds added at the start of every payment Lambda invocation',
    services: ['payment'],
    variants: { off: 0, '200ms': 200, '1s': 1000, '3s': 3000, '5s': 5000 },
  },
  'lambda-error': {
    description: 'Fraction of payment Lambda invocations that fail before doing any work',
    services: ['payment'],
    variants: { off: 0, '10%': 0.1, '25%': 0.25, '50%': 0.5, '100%': 1 },
  },
  'cache-bypass': {
    description: 'Read through to the source on every request, as if the cache were empty',
    services: ['inventory', 'menu'],
    variants: { off: false, on: true },
  },
} as const satisfies Record<string, FaultFlagDefinition>;

/** The shape of one catalogue entry. */
export interface FaultFlagDefinition {
  readonly description: string;
  readonly services: readonly string[];
  readonly variants: { readonly off: number | boolean } & Readonly<Record<string, number | boolean>>;
}

type Flags = typeof FAULT_FLAGS;
/** Any fault flag name. */
export type FlagName = keyof Flags;
/** The variant labels of flag `N`. */
export type VariantName<N extends FlagName> = keyof Flags[N]['variants'] & string;
/** The values flag `N` can take. */
export type FlagValue<N extends FlagName> = Flags[N]['variants'][VariantName<N>];

/** The names in {@link FAULT_FLAGS}. */
export const FLAG_NAMES = Object.keys(FAULT_FLAGS) as FlagName[];

/** Shortest and longest TTL a flag may be set for: every fault expires, and soon. */
export const FLAG_TTL_BOUNDS = { minSeconds: 1, maxSeconds: 3600 } as const;

/**
 * The value a variant label says, so a label can be checked against its value:
 * `off` → 0 or false, `on` → true, `25%` → 0.25, `200ms` → 200, `1s` → 1000.
 *
 * @example
 * ```ts
 * valueOfLabel('5s'); // 5000
 * ```
 */
export function valueOfLabel(label: string): number | boolean | undefined {
  if (label === 'on') return true;
  const match = /^(\d+(?:\.\d+)?)(%|ms|s)$/.exec(label);
  if (!match) return undefined;
  const amount = Number(match[1]);
  if (match[2] === '%') return amount / 100;
  return match[2] === 's' ? amount * 1000 : amount;
}
