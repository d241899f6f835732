import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metrics } from '@cloudcafe/kit';
import { runK6 } from '../../src/k6/index.js';

/**
 * A real k6 run against a small HTTP server in this process, for tests of what the report does
 * with k6's own record of a load (no lab needed, only the k6 binary bootstrap installs). The
 * server answers with a long tail — most requests fast, a few slow, one in a hundred very slow —
 * so p50, p95 and p99 are three different lines, and adds `slowMs` while a "fault" is on. Each
 * iteration also makes one long poll (`?waitSeconds=1`, answered after 300 ms), as checkout does.
 * Given a kit metrics registry, the server records each answer in it as a service does, by
 * route, so its `/metrics` text is what the report's per-route charts read.
 */

export interface RealK6Load {
  /** The `--out json` file k6 wrote. */
  readonly samples: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Iterations per second the script was asked for (three requests each, one a long poll). */
  readonly rate: number;
  readonly requests: number;
}

function tailLatency(): number {
  const r = Math.random();
  if (r < 0.9) return 2 + Math.random() * 8;
  if (r < 0.99) return 30 + Math.random() * 30;
  return 120 + Math.random() * 60;
}

export async function runRealK6(options: {
  rate: number;
  seconds: number;
  /** While true, every answer is this much slower. */
  faultOn?: () => boolean;
  slowMs?: number;
  metrics?: Metrics;
}): Promise<RealK6Load> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const poll = req.url?.includes('waitSeconds=') ? 300 : 0;
    const delay = poll + tailLatency() + (options.faultOn?.() ? (options.slowMs ?? 0) : 0);
    const route = (req.url ?? '/').split('?')[0] as string;
    setTimeout(() => {
      res.end('ok');
      options.metrics?.observe(
        'http_request_duration_ms',
        { method: req.method ?? 'GET', route, status: '200' },
        delay,
      );
    }, delay);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-k6-'));
  const script = join(dir, 'load.js');
  writeFileSync(
    script,
    `import http from 'k6/http';
export const options = {
  scenarios: { load: { executor: 'constant-arrival-rate', rate: ${options.rate}, timeUnit: '1s',
    duration: '${options.seconds}s', preAllocatedVUs: 20, maxVUs: 60 } },
};
export default function () {
  http.get('${base}/menu');
  http.get('${base}/order');
  http.get('${base}/api/orders/o-1?waitSeconds=1', { tags: { name: 'get-order', long_poll: 'true' } });
}
`,
  );
  const startedAt = Date.now();
  try {
    const result = await runK6({
      script,
      outDir: dir,
      scriptEnv: {},
      samplesFile: join(dir, 'samples.json.gz'),
      // a port of its own: a lab's k6 on this machine may hold the default one
      apiAddress: '127.0.0.1:0',
      onOutput: () => {},
      cwd: dir,
    });
    if (result.exitCode !== 0) throw new Error(`k6 exited ${result.exitCode}: see ${result.files.console}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
  return {
    samples: join(dir, 'samples.json.gz'),
    startedAt,
    finishedAt: Date.now(),
    rate: options.rate,
    requests,
  };
}
