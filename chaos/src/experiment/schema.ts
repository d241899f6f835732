import { Duration, Fault, Platform, ServiceName } from '@cloudcafe/chaos-interface';
import Type, { type Static } from 'typebox';
import { INVARIANTS } from '../audit-names.js';
import { LOAD_SCENARIOS } from '../k6/scenarios.js';

/**
 * The experiment document: one schema, validated before anything runs, published as JSON
 * Schema for editors (chaos/experiment.schema.json). Faults, probes and tolerances are
 * discriminated unions on `type`, so a document is either fully understood or rejected with
 * the path of what is wrong. The fault vocabulary and durations are the drivers' too, so they
 * live in @cloudcafe/chaos-interface and are re-exported here for the core.
 */

export {
  Duration,
  durationMs,
  Fault,
  type FaultType,
  faultTarget,
  MAX_FAULT_MS,
  PLATFORMS,
  Platform,
} from '@cloudcafe/chaos-interface';

const Name = Type.String({ minLength: 1, maxLength: 120 });
const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: 'kebab-case id' });

// ── tolerances ─────────────────────────────────────────────────────────────────────────────

export const Tolerance = Type.Union([
  Type.Object(
    { type: Type.Literal('status'), equals: Type.Integer({ minimum: 100, maximum: 599 }) },
    { additionalProperties: false, description: 'the HTTP status must be exactly this' },
  ),
  Type.Object(
    {
      type: Type.Literal('status-range'),
      min: Type.Integer({ minimum: 100, maximum: 599 }),
      max: Type.Integer({ minimum: 100, maximum: 599 }),
    },
    { additionalProperties: false, description: 'the HTTP status must be within [min, max]' },
  ),
  Type.Object(
    { type: Type.Literal('latency'), maxMs: Type.Integer({ minimum: 1, maximum: 600_000 }) },
    { additionalProperties: false, description: 'the call must answer within maxMs' },
  ),
  Type.Object(
    {
      type: Type.Literal('error-rate'),
      max: Type.Number({ minimum: 0, maximum: 1 }),
      window: Duration,
    },
    {
      additionalProperties: false,
      description: 'the share of failed calls over the window stays at or below max',
    },
  ),
]);
export type Tolerance = Static<typeof Tolerance>;

// ── probes ─────────────────────────────────────────────────────────────────────────────────

export const HttpProbe = Type.Object(
  {
    type: Type.Literal('http'),
    name: Name,
    method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('POST')])),
    /** A path on the lab's gateway, e.g. `/api/orders/health`. */
    path: Type.String({ pattern: '^/api/[a-z-]+(/.*)?$' }),
    body: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    admin: Type.Optional(Type.Boolean({ description: 'send the admin token' })),
    timeout: Type.Optional(Duration),
    tolerance: Tolerance,
  },
  { additionalProperties: false },
);
export type HttpProbe = Static<typeof HttpProbe>;

/** For the numeric probes: the value must lie within [min, max] (either bound may be absent). */
export const RangeTolerance = Type.Object(
  { type: Type.Literal('range'), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
  { additionalProperties: false, description: 'the value must lie within [min, max]' },
);
export type RangeTolerance = Static<typeof RangeTolerance>;

const MetricName = Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', description: 'a metric name' });

export const MetricProbe = Type.Object(
  {
    type: Type.Literal('metric'),
    name: Name,
    /** The service whose `/api/<svc>/metrics` (Prometheus text) is read. */
    service: ServiceName,
    /** A name from the kit's metric catalogue; every series matching `labels` is summed. */
    metric: MetricName,
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    tolerance: RangeTolerance,
  },
  { additionalProperties: false },
);

export const K6Probe = Type.Object(
  {
    type: Type.Literal('k6'),
    name: Name,
    /** A metric of the experiment's background load, read live from k6's REST API. */
    metric: MetricName,
    /** Which figure of the metric: `rate`, `count`, `value`, `avg`, `p(95)`, `p(99)`… */
    stat: Type.String({ pattern: '^(rate|count|value|avg|min|med|max|p\\([0-9.]+\\))$' }),
    tolerance: RangeTolerance,
  },
  { additionalProperties: false },
);

export const CloudWatchProbe = Type.Object(
  {
    type: Type.Literal('cloudwatch'),
    name: Name,
    /** The `Service` dimension (namespace CloudCafe, with the run's `Platform`). */
    service: ServiceName,
    metric: MetricName,
    stat: Type.Enum(['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount']),
    /** The look-back window ending now. */
    window: Duration,
    tolerance: RangeTolerance,
  },
  { additionalProperties: false },
);

export type MetricProbe = Static<typeof MetricProbe>;
export type K6Probe = Static<typeof K6Probe>;
export type CloudWatchProbe = Static<typeof CloudWatchProbe>;

export const Probe = Type.Union([HttpProbe, MetricProbe, K6Probe, CloudWatchProbe]);
export type Probe = Static<typeof Probe>;

// ── method, abort, document ────────────────────────────────────────────────────────────────

export const Step = Type.Union([
  Type.Object(
    {
      type: Type.Literal('fault'),
      name: Name,
      fault: Fault,
      /** How long the fault holds before it is reverted (it runs while the next steps do). */
      duration: Duration,
    },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('probe'), probe: Probe }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('wait'), duration: Duration }, { additionalProperties: false }),
]);
export type Step = Static<typeof Step>;

export const AbortCondition = Type.Object(
  {
    name: Name,
    probe: Probe,
    /** The probe must fail this long without a break before the experiment aborts. */
    for: Duration,
  },
  { additionalProperties: false },
);
export type AbortCondition = Static<typeof AbortCondition>;

export const Experiment = Type.Object(
  {
    id: Id,
    title: Name,
    description: Type.String({ minLength: 1 }),
    tags: Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true }),
    platforms: Type.Array(Platform, { minItems: 1, uniqueItems: true }),
    /** What a participant should watch while it runs. */
    watch: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** How the system is put back if the automatic rollback is not enough. */
    restore: Type.Optional(Type.String({ minLength: 1 })),
    steadyState: Type.Object({ probes: Type.Array(Probe, { minItems: 1 }) }, { additionalProperties: false }),
    method: Type.Array(Step, { minItems: 1 }),
    abort: Type.Optional(Type.Array(AbortCondition)),
    /** After the rollback: how long steady state may take to return before the experiment fails. */
    recovery: Type.Object({ within: Duration }, { additionalProperties: false }),
    /**
     * Background load for the whole experiment: a k6 scenario from load-tests/, started before
     * the hypothesis and stopped after it. Its acknowledgement file is what the audit holds the
     * system to. Its own thresholds are reported, not judged: under a fault the hypothesis
     * probes decide.
     */
    load: Type.Optional(
      Type.Object(
        {
          scenario: Type.Enum(LOAD_SCENARIOS),
          /** Requests (or arrivals) per second. */
          rate: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          /** Other knobs of the scenario (STOCK, ATTEMPTS, VUS…), as load-tests/README.md lists. */
          knobs: Type.Optional(
            Type.Record(
              Type.String({ pattern: '^[A-Z][A-Z_]*$' }),
              Type.Union([Type.String(), Type.Number()]),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    /** Business invariants audited after the hypothesis (see `npx cloudcafe audit`). */
    invariants: Type.Optional(Type.Array(Type.Enum(INVARIANTS), { uniqueItems: true })),
  },
  { additionalProperties: false },
);
export type Experiment = Static<typeof Experiment>;

/**
 * A breaking-point search (`cloudcafe experiment margin`, chaos/src/margin.ts) a game day runs
 * after its experiments: the named experiment again and again, one fault field raised step by
 * step until the hypothesis fails.
 */
export const MarginRequest = Type.Object(
  {
    experiment: Id,
    vary: Type.String({
      pattern: '^[A-Za-z][A-Za-z0-9]*=-?[0-9]+(\\.[0-9]+)?\\.\\.-?[0-9]+(\\.[0-9]+)?$',
      description: '<fault-field>=<from>..<to>, e.g. latencyMs=50..1000',
    }),
    /** How many doses at most, the first and the last included. */
    steps: Type.Optional(Type.Integer({ minimum: 2, maximum: 50 })),
    /** The fault step to vary, by name; needed only when several carry the field. */
    fault: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export type MarginRequest = Static<typeof MarginRequest>;

export const GameDay = Type.Object(
  {
    id: Id,
    title: Name,
    description: Type.String({ minLength: 1 }),
    /** A quiet period before the first experiment, so the lab is warm. */
    warmup: Duration,
    /** Between experiments, so one's aftermath does not colour the next. */
    gap: Duration,
    experiments: Type.Array(Id, { minItems: 1 }),
    /** Breaking points searched after the experiments; shown in the report, not in the verdict. */
    margins: Type.Optional(Type.Array(MarginRequest)),
  },
  { additionalProperties: false },
);
export type GameDay = Static<typeof GameDay>;
