import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QUEUES } from '@cloudcafe/contracts';
import { type AwsAccess, awsClientConfig, labTarget, type Target } from './target.js';

/**
 * What the report charts: one sample a second for the whole run. A synthetic monitor sends a
 * few requests through the gateway each second (latency percentiles, throughput, errors as a
 * user would see them), and the payment queue and its DLQ are read from SQS. Sources that
 * cannot answer leave their fields empty rather than inventing a value.
 */

export interface Sample {
  /** Milliseconds since the run started. */
  readonly t: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  /** Completed monitor requests in this second. */
  readonly rps?: number;
  /** Share of monitor requests that failed (5xx, refused, timed out). */
  readonly errorRate?: number;
  readonly queueDepth?: number;
  readonly dlqDepth?: number;
}

export interface Sampler {
  readonly samples: readonly Sample[];
  /** Paths (on the gateway) the monitor calls; the runner sets them per experiment. */
  setTargets(paths: readonly string[]): void;
  stop(): Promise<void>;
}

const REQUESTS_PER_SECOND = 5;

function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function monitorSecond(gateway: string, targets: readonly string[]) {
  if (targets.length === 0) return {};
  const calls = Array.from({ length: REQUESTS_PER_SECOND }, async (_, i) => {
    // spread the calls over the second rather than bursting
    await new Promise((r) => setTimeout(r, (1000 / REQUESTS_PER_SECOND) * i));
    const started = performance.now();
    try {
      const res = await fetch(`${gateway}${targets[i % targets.length]}`, {
        signal: AbortSignal.timeout(3000),
      });
      await res.arrayBuffer();
      return { ms: performance.now() - started, failed: res.status >= 500 };
    } catch {
      return { ms: performance.now() - started, failed: true };
    }
  });
  const results = await Promise.all(calls);
  const ok = results
    .filter((r) => !r.failed)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 10) / 10);
  return {
    p50: round(percentile(ok, 50)),
    p95: round(percentile(ok, 95)),
    p99: round(percentile(ok, 99)),
    rps: results.length,
    errorRate: results.filter((r) => r.failed).length / results.length,
  };
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

/** The value, or undefined when reading it throws (a lab that is not up has no gateway). */
function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * Starts sampling once a second until `stop()`. The monitor calls the target's gateway and the
 * queue depths are read from the target's SQS; what the target cannot name is not sampled.
 */
export function startSampler(target: Target = labTarget): Sampler {
  const started = Date.now();
  const samples: Sample[] = [];
  let targets: readonly string[] = [];
  let stopped = false;
  const gateway = safely(target.gateway);
  const queues = queueReader(safely(target.sources)?.aws);
  const loop = (async () => {
    while (!stopped) {
      const tick = Date.now();
      const [monitor, depths] = await Promise.all([
        gateway ? monitorSecond(gateway, targets) : {},
        queues.read(),
      ]);
      samples.push({ t: tick - started, ...monitor, ...depths });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
    }
  })();
  return {
    samples,
    setTargets(paths) {
      targets = paths;
    },
    async stop() {
      stopped = true;
      await loop;
      queues.close();
    },
  };
}
