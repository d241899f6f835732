import { FAULT_FLAGS } from '@cloudcafe/kit/fault-flags';
import Type, { type Static } from 'typebox';

/**
 * The fault vocabulary every platform's driver speaks: one name per fault, the same on the local
 * lab, a cluster and AWS (docs/chaos.md). The experiment schema (chaos) embeds it in its steps;
 * a driver (platforms/<name>) reads nothing else of an experiment.
 */

/** A duration: `500ms`, `30s`, `2m`. Every fault and wait is bounded; nothing runs unbounded. */
export const Duration = Type.String({
  pattern: '^[0-9]+(ms|s|m)$',
  description: 'a duration such as 500ms, 30s or 2m',
});

export const PLATFORMS = ['local', 'kubernetes', 'aws'] as const;
export const Platform = Type.Enum(PLATFORMS);
export type Platform = Static<typeof Platform>;

export const ServiceName = Type.String({ pattern: '^[a-z][a-z-]*$', description: 'a service, e.g. order' });

// ── faults ─────────────────────────────────────────────────────────────────────────────────

/** The variants of a fault flag, from the kit's one list of flags (its `off` is the revert). */
function variantsOf(flag: 'dependency-errors' | 'lambda-delay' | 'lambda-error') {
  const labels = Object.keys(FAULT_FLAGS[flag].variants).filter((v) => v !== 'off');
  return Type.Enum(labels, { description: `one of ${labels.join(', ')}` });
}

const LinkName = Type.String({
  pattern: '^[a-z-]+-to-[a-z-]+$',
  description: 'a lab link, e.g. order-to-inventory',
});
const ProcessName = Type.String({
  pattern: '^[a-z][a-z-]*$',
  description: 'a supervised process, e.g. order',
});

export const Fault = Type.Union([
  Type.Object(
    {
      type: Type.Literal('latency'),
      link: LinkName,
      latencyMs: Type.Integer({ minimum: 1, maximum: 30_000 }),
      jitterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    },
    { additionalProperties: false, description: 'slow every answer across a link' },
  ),
  Type.Object(
    { type: Type.Literal('partition'), link: LinkName },
    { additionalProperties: false, description: 'cut a link: connections refused' },
  ),
  Type.Object(
    { type: Type.Literal('kill'), process: ProcessName },
    { additionalProperties: false, description: 'SIGKILL a process; the platform restarts it' },
  ),
  Type.Object(
    { type: Type.Literal('pause'), process: ProcessName },
    { additionalProperties: false, description: 'freeze a process (SIGSTOP) until the fault ends' },
  ),
  Type.Object(
    {
      type: Type.Literal('cpu-stress'),
      service: ServiceName,
      /** The service's stress scenario; its only one when absent. */
      scenario: Type.Optional(Type.String({ pattern: '^[a-z][a-z-]*$' })),
      /** Knobs for the scenario besides its duration (which is the fault's). */
      knobs: Type.Optional(Type.Record(Type.String(), Type.Number())),
    },
    { additionalProperties: false, description: "run the service's stress scenario: a noisy neighbour" },
  ),
  Type.Object(
    { type: Type.Literal('dependency-errors'), service: ServiceName, rate: variantsOf('dependency-errors') },
    { additionalProperties: false, description: 'a share of the service’s outbound calls fail (fault flag)' },
  ),
  Type.Object(
    { type: Type.Literal('db-failover') },
    {
      additionalProperties: false,
      description: 'the order database fails over (locally: PostgreSQL restarts)',
    },
  ),
  Type.Object(
    { type: Type.Literal('cache-outage'), service: Type.Optional(ServiceName) },
    { additionalProperties: false, description: 'Redis unreachable, for one service or for all' },
  ),
  Type.Object(
    { type: Type.Literal('lambda-delay'), delay: variantsOf('lambda-delay') },
    { additionalProperties: false, description: 'every payment Lambda invocation starts late (fault flag)' },
  ),
  Type.Object(
    { type: Type.Literal('lambda-error'), rate: variantsOf('lambda-error') },
    { additionalProperties: false, description: 'a share of payment Lambda invocations fail (fault flag)' },
  ),
]);
export type Fault = Static<typeof Fault>;
export type FaultType = Fault['type'];

/** `30s` → 30000. The schema guarantees the format. */
export function durationMs(duration: string): number {
  const match = /^([0-9]+)(ms|s|m)$/.exec(duration);
  if (!match?.[1]) throw new Error(`not a duration: ${duration}`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : match[2] === 's' ? n * 1000 : n * 60_000;
}

/** Faults may hold at most this long: a chaos lab never leaves a fault on by accident. */
export const MAX_FAULT_MS = 15 * 60_000;

/** What a fault acts on, in words: a link, a process, a service, or the shared thing it names. */
export function faultTarget(fault: Fault): string {
  switch (fault.type) {
    case 'latency':
    case 'partition':
      return fault.link;
    case 'kill':
    case 'pause':
      return fault.process;
    case 'cpu-stress':
    case 'dependency-errors':
      return fault.service;
    case 'db-failover':
      return 'postgres';
    case 'cache-outage':
      return fault.service ? `${fault.service}-to-redis` : 'every link to redis';
    case 'lambda-delay':
    case 'lambda-error':
      return 'payment lambda';
  }
}
