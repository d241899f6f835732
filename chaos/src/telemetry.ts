import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QUEUES, SERVICE_REGISTRY } from '@cloudcafe/contracts';
import {
  type K6Record,
  loadSpans,
  mergeSeries,
  type Observation,
  perSecond,
  readK6Record,
  type Sample,
} from './chart-series.js';
import type { JournalEvent } from './journal.js';
import { ROUTE_SCRAPE_MS, type RouteScrape, routeCounts } from './route-metrics.js';
import { type AwsAccess, awsClientConfig, labTarget, type Target } from './target.js';

/**
 * What the report charts is gathered here while a run goes. Where an experiment runs
 * background load, k6 records every request itself (run/load.ts asks it for `--out json`), and
 * the report reads that file; where none runs, a synthetic monitor sends requests through the
 * gateway at a steady rate so the latency and error lines do not stop. The payment queue and
 * its DLQ are read from SQS once a second. chart-series.ts turns both into per-second samples.
 * Every service's own `/metrics` is scraped through the gateway every couple of seconds too,
 * for the per-route charts (route-metrics.ts).
 */

export type { Sample } from './chart-series.js';

/** The journal, as far as the sampler listens to it (load starting and stopping). */
export interface RunEvents {
  onEvent(listener: (event: JournalEvent) => void): void;
}

export interface Sampler {
  /** Every monitor request, as it ended. */
  readonly observations: readonly Observation[];
  /** Queue depths, one reading a second (t in ms since the run started). */
  readonly queues: readonly { t: number; queueDepth?: number; dlqDepth?: number }[];
  /** Every service's `/metrics`, read every {@link ROUTE_SCRAPE_MS}. */
  readonly routes: readonly RouteScrape[];
  /**
   * Paths (on the gateway) the monitor calls; the runner sets them per experiment. None:
   * {@link MONITOR_DEFAULT_PATHS}.
   */
  setTargets(paths: readonly string[]): void;
  stop(): Promise<void>;
}

/**
 * Ten a second: with the trailing windows of chart-series.ts a p99 then stands on 100 requests
 * within 10 s, and the monitor stays a small share of what a 2-core lab can serve.
 */
export const MONITOR_REQUESTS_PER_SECOND = 10;
const MONITOR_TIMEOUT_MS = 3000;

/**
 * What the monitor calls when the experiment names no GET probe to watch (many steady states
 * are a POST), and during warm-up and gaps: every service's health through the gateway, the
 * one path each service answers on every platform.
 */
export const MONITOR_DEFAULT_PATHS = Object.values(SERVICE_REGISTRY).map((s) => `/api/${s.segment}/health`);

async function monitorCall(url: string): Promise<Observation> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(MONITOR_TIMEOUT_MS) });
    await res.arrayBuffer();
    return { at: Date.now(), ms: performance.now() - started, failed: res.status >= 500 };
  } catch (error) {
    // a timeout is latency the user sat through; a refused connection is only an error
    const timedOut = (error as Error).name === 'TimeoutError';
    return { at: Date.now(), ms: timedOut ? performance.now() - started : undefined, failed: true };
  }
}

function queueReader(aws: AwsAccess | undefined) {
  if (!aws) return { read: async () => ({}), close: () => {} };
  const sqs = new SQSClient({ ...awsClientConfig(aws, 'sqs'), maxAttempts: 1 });
  const urls = new Map<string, string>();
  const depth = async (name: string): Promise<number | undefined> => {
    try {
      let url = urls.get(name);
      if (!url) {
        url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
        urls.set(name, url);
      }
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    } catch {
      return undefined;
    }
  };
  return {
    read: async () => ({
      queueDepth: await depth(QUEUES.paymentRequests),
      dlqDepth: await depth(QUEUES.paymentRequestsDlq),
    }),
    close: () => sqs.destroy(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One read of every service's `/metrics` through the gateway; a service that cannot say is `failed`. */
async function scrapeRoutes(gateway: string, t: number): Promise<RouteScrape[]> {
  return Promise.all(
    Object.entries(SERVICE_REGISTRY).map(async ([service, { segment }]): Promise<RouteScrape> => {
      try {
        const res = await fetch(`${gateway}/api/${segment}/metrics`, {
          signal: AbortSignal.timeout(ROUTE_SCRAPE_MS - 200),
        });
        if (!res.ok) return { t, service, failed: true };
        return { t, service, routes: routeCounts(await res.text()) };
      } catch {
        return { t, service, failed: true };
      }
    }),
  );
}

/** The value, or undefined when reading it throws (a lab that is not up has no gateway). */
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * Starts sampling until `stop()`. The monitor calls the target's gateway on a fixed schedule —
 * a slow answer never delays the next call, so a fault that stalls requests shows as latency
 * and timeouts, not as a hole — and rests while `events` says background load runs. Queue
 * depths come from the target's SQS; what the target cannot name is not sampled.
 */
export function startSampler(
  target: Target = labTarget,
  events?: RunEvents,
  origin: number = Date.now(),
): Sampler {
  const gateway = safely(target.gateway);
  const observations: Observation[] = [];
  const queues: { t: number; queueDepth?: number; dlqDepth?: number }[] = [];
  const routes: RouteScrape[] = [];
  const inFlight = new Set<Promise<void>>();
  let targets: readonly string[] = [];
  let loadRunning = false;
  let stopped = false;
  events?.onEvent((event) => {
    if (event.type === 'load.started') loadRunning = true;
    // an experiment that failed before stopping its load still ends it (runner.ts)
    if (['load.finished', 'experiment.started', 'experiment.finished'].includes(event.type))
      loadRunning = false;
  });

  const monitor = (async () => {
    const spacing = 1000 / MONITOR_REQUESTS_PER_SECOND;
    const started = Date.now();
    for (let i = 0; !stopped; i++) {
      const paths = targets.length > 0 ? targets : MONITOR_DEFAULT_PATHS;
      const path = paths[i % paths.length];
      if (gateway && path && !loadRunning) {
        const call = monitorCall(`${gateway}${path}`).then((o) => {
          observations.push(o);
        });
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
      // the i+1th call's slot, on the clock: a late wake-up on a busy machine shortens the next
      // wait instead of pushing every later call back
      await sleep(Math.max(0, started + (i + 1) * spacing - Date.now()));
    }
  })();

  const reader = queueReader(safely(target.sources)?.aws);
  const depths = (async () => {
    while (!stopped) {
      const tick = Date.now();
      queues.push({ t: tick - origin, ...(await reader.read()) });
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
  })();

  const scrapes = (async () => {
    while (!stopped && gateway) {
      const tick = Date.now();
      routes.push(...(await scrapeRoutes(gateway, tick - origin)));
      await sleep(Math.max(0, ROUTE_SCRAPE_MS - (Date.now() - tick)));
    }
  })();

  return {
    observations,
    queues,
    routes,
    setTargets(paths) {
      targets = paths;
    },
    async stop() {
      stopped = true;
      await Promise.all([monitor, depths, scrapes, ...inFlight]);
      reader.close();
    },
  };
}

/** The k6 request files the run's background loads wrote, from their `load.started` events. */
export function loadSampleFiles(events: readonly JournalEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === 'load.started' && typeof e.samples === 'string' ? [e.samples] : [],
  );
}

/**
 * The report's series for a run from `origin` to `end`: k6's requests wherever load ran, the
 * monitor's elsewhere, queue depths throughout.
 */
export async function runSeries(
  sampler: Pick<Sampler, 'observations' | 'queues'>,
  events: readonly JournalEvent[],
  origin: number,
  end: number,
): Promise<Sample[]> {
  const seconds = Math.max(1, Math.ceil((end - origin) / 1000));
  const records: K6Record[] = await Promise.all(loadSampleFiles(events).map(readK6Record));
  const k6 = perSecond(
    records.flatMap((r) => r.requests),
    origin,
    seconds,
    'k6',
    { iterations: records.flatMap((r) => r.iterations), dropped: records.flatMap((r) => r.dropped) },
  );
  const monitor = perSecond(sampler.observations, origin, seconds, 'monitor');
  return mergeSeries(k6, monitor, sampler.queues, loadSpans(events, origin));
}
