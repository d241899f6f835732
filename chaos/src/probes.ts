import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE } from '@cloudcafe/contracts';
import { SERVICES, sumSeries } from '@cloudcafe/kit';
import {
  type CloudWatchProbe,
  durationMs,
  type HttpProbe,
  type K6Probe,
  type MetricProbe,
  type Probe,
  type RangeTolerance,
  type Tolerance,
} from './experiment/schema.js';
import { K6LiveApi } from './k6/runner.js';
import { awsClientConfig, labTarget, type Target } from './target.js';

/**
 * Probes ask the system a question and judge the answer against a typed tolerance. An HTTP
 * probe goes through the lab's gateway, as a user's request would.
 */

export interface ProbeResult {
  readonly name: string;
  readonly ok: boolean;
  /** What was seen, e.g. `200 in 12 ms` or `timed out after 2000 ms`. */
  readonly observed: string;
  readonly status: number | undefined;
  readonly latencyMs: number;
  readonly at: string;
}

export interface Call {
  readonly status: number | undefined;
  readonly latencyMs: number;
  readonly error: string | undefined;
}

async function call(probe: HttpProbe, target: Target): Promise<Call> {
  const timeoutMs = probe.timeout ? durationMs(probe.timeout) : 5000;
  const started = performance.now();
  try {
    // inside the try: a target that cannot be resolved (the lab is down) is a failed call
    const gateway = target.gateway();
    const headers: Record<string, string> = {};
    if (probe.admin) headers.authorization = `Bearer ${target.adminToken()}`;
    if (probe.body) headers['content-type'] = 'application/json';
    const res = await fetch(`${gateway}${probe.path}`, {
      method: probe.method ?? 'GET',
      headers,
      body: probe.body ? JSON.stringify(probe.body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return { status: res.status, latencyMs: Math.round(performance.now() - started), error: undefined };
  } catch (error) {
    const message =
      (error as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (error as Error).message;
    return { status: undefined, latencyMs: Math.round(performance.now() - started), error: message };
  }
}

/** Whether one call meets a point tolerance (status, status range, latency). */
export function withinTolerance(tolerance: Tolerance, c: Call): boolean {
  if (c.status === undefined) return false;
  switch (tolerance.type) {
    case 'status':
      return c.status === tolerance.equals;
    case 'status-range':
      return c.status >= tolerance.min && c.status <= tolerance.max;
    case 'latency':
      return c.latencyMs <= tolerance.maxMs;
    case 'error-rate':
      return c.status < 500;
  }
}

const describeCall = (c: Call) =>
  c.status === undefined ? `${c.error}` : `${c.status} in ${c.latencyMs} ms`;

/**
 * Runs a probe once and judges it. An error-rate tolerance is judged over a burst of calls
 * spread across its window (at most 10 calls), since one call cannot have a rate.
 */
/** What a probe may need from the run: the background load's k6 API, the platform. */
export interface ProbeContext {
  readonly k6Api?: string;
  readonly platform?: string;
  /** Where HTTP and metric probes go; the local lab when absent. */
  readonly target?: Target;
}

/** Runs a probe once and judges it against its tolerance. */
export async function runProbe(probe: Probe, context: ProbeContext = {}): Promise<ProbeResult> {
  switch (probe.type) {
    case 'http':
      return runHttpProbe(probe, context.target ?? labTarget);
    case 'metric':
    case 'k6':
    case 'cloudwatch':
      return runNumericProbe(probe, context);
  }
}

/** For abort checks at 1 Hz: one reading (an HTTP error-rate probe counts a 5xx as a failure). */
export async function runProbeOnce(probe: Probe, context: ProbeContext = {}): Promise<ProbeResult> {
  return probe.type === 'http'
    ? runHttpOnce(probe, context.target ?? labTarget)
    : runNumericProbe(probe, context);
}

/**
 * An HTTP probe. An error-rate tolerance is judged over a burst of calls spread across its
 * window (at most 10 calls), since one call cannot have a rate.
 */
async function runHttpProbe(probe: HttpProbe, target: Target): Promise<ProbeResult> {
  const at = new Date().toISOString();
  if (probe.tolerance.type === 'error-rate') {
    const samples = 10;
    const spacing = durationMs(probe.tolerance.window) / samples;
    const calls: Call[] = [];
    for (let i = 0; i < samples; i++) {
      calls.push(await call(probe, target));
      if (i < samples - 1) await new Promise((r) => setTimeout(r, spacing));
    }
    const failed = calls.filter((c) => !withinTolerance(probe.tolerance, c)).length;
    const rate = failed / samples;
    const last = calls.at(-1) as Call;
    return {
      name: probe.name,
      ok: rate <= probe.tolerance.max,
      observed: `${failed}/${samples} failed (${(rate * 100).toFixed(0)}%, max ${(probe.tolerance.max * 100).toFixed(0)}%)`,
      status: last.status,
      latencyMs: last.latencyMs,
      at,
    };
  }
  return runHttpOnce(probe, target);
}

async function runHttpOnce(probe: HttpProbe, target: Target): Promise<ProbeResult> {
  const at = new Date().toISOString();
  const c = await call(probe, target);
  return {
    name: probe.name,
    ok: withinTolerance(probe.tolerance, c),
    observed: describeCall(c),
    status: c.status,
    latencyMs: c.latencyMs,
    at,
  };
}

// ── numeric probes: a service's /metrics, the background load's k6, CloudWatch ─────────────

const inRange = (t: RangeTolerance, v: number) =>
  (t.min === undefined || v >= t.min) && (t.max === undefined || v <= t.max);
const describeRange = (t: RangeTolerance) =>
  t.min !== undefined && t.max !== undefined
    ? `in [${t.min}, ${t.max}]`
    : t.max !== undefined
      ? `≤ ${t.max}`
      : `≥ ${t.min}`;

/** Sums a Prometheus series over the label sets that match `labels`, from the service's /metrics. */
async function readMetric(probe: MetricProbe, target: Target): Promise<number> {
  const segment = (SERVICES as Record<string, { segment: string } | undefined>)[probe.service]?.segment;
  if (!segment) throw new Error(`no service ${probe.service}`);
  const res = await fetch(`${target.gateway()}/api/${segment}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`${probe.service} /metrics answered ${res.status}`);
  return sumSeries(await res.text(), probe.metric, probe.labels);
}

async function readK6(probe: K6Probe, context: ProbeContext): Promise<number> {
  if (!context.k6Api) throw new Error('no background load is running (the experiment has no `load`)');
  const metric = await new K6LiveApi(context.k6Api).metric(probe.metric);
  const value = metric?.sample[probe.stat];
  if (value === undefined) throw new Error(`k6 has no ${probe.metric} ${probe.stat} yet`);
  return value;
}

async function readCloudWatch(probe: CloudWatchProbe, context: ProbeContext): Promise<number> {
  const platform = context.platform ?? 'local';
  // the target's CloudWatch: the lab's emulator, or the account of the deployed stack
  const client = new CloudWatchClient(
    awsClientConfig((context.target ?? labTarget).sources().aws, 'cloudwatch'),
  );
  try {
    const end = new Date();
    const span = durationMs(probe.window);
    const out = await client.send(
      new GetMetricDataCommand({
        StartTime: new Date(end.getTime() - span),
        EndTime: end,
        MetricDataQueries: [
          {
            Id: 'probe',
            MetricStat: {
              Metric: {
                Namespace: METRICS_NAMESPACE,
                MetricName: probe.metric,
                Dimensions: [
                  { Name: 'Service', Value: probe.service },
                  { Name: 'Platform', Value: platform },
                ],
              },
              Period: Math.max(60, Math.ceil(span / 60_000) * 60),
              Stat: probe.stat,
            },
          },
        ],
      }),
    );
    const values = out.MetricDataResults?.[0]?.Values ?? [];
    if (values.length === 0)
      throw new Error(`CloudWatch has no ${probe.metric} for ${probe.service} in the last ${probe.window}`);
    // Sum and SampleCount add up across periods; the others take the latest period
    return probe.stat === 'Sum' || probe.stat === 'SampleCount'
      ? values.reduce((a, b) => a + b, 0)
      : (values[0] as number);
  } finally {
    client.destroy();
  }
}

async function runNumericProbe(
  probe: MetricProbe | K6Probe | CloudWatchProbe,
  context: ProbeContext,
): Promise<ProbeResult> {
  const at = new Date().toISOString();
  const started = performance.now();
  try {
    const value =
      probe.type === 'metric'
        ? await readMetric(probe, context.target ?? labTarget)
        : probe.type === 'k6'
          ? await readK6(probe, context)
          : await readCloudWatch(probe, context);
    return {
      name: probe.name,
      ok: inRange(probe.tolerance, value),
      observed: `${probe.metric} = ${Math.round(value * 1000) / 1000} (want ${describeRange(probe.tolerance)})`,
      status: undefined,
      latencyMs: Math.round(performance.now() - started),
      at,
    };
  } catch (error) {
    return {
      name: probe.name,
      ok: false,
      observed: (error as Error).message,
      status: undefined,
      latencyMs: Math.round(performance.now() - started),
      at,
    };
  }
}
