import { HOST, type LabState, labStatus, PUBLIC_PATHS, type ServiceName } from '@cloudcafe/local-platform';
import { type AwsCalls, parseAwsCalls } from './aws-calls.js';
import { type CpuRoot, type CpuSample, sampleCpu } from './proc-cpu.js';

/**
 * One reading of the local lab, taken before and after a bench step: every lab process's CPU
 * counters (pids from the lab daemon's status, the daemon itself being the gateway and the
 * supervisor) and every service's `aws_calls_total` from its own `/metrics`, straight from its
 * port on loopback.
 */

export interface LabSample {
  readonly cpu: CpuSample;
  /** By process name; undefined where the process does not expose the counter (or did not answer). */
  readonly aws: Readonly<Record<string, AwsCalls | undefined>>;
}

/** Named for the reader: the daemon process also serves the gateway. */
export const DAEMON_NAME = 'lab daemon (gateway)';
export const BENCH_NAME = 'bench (this process)';
export const K6_NAME = 'k6 (started by the bench)';

const isService = (name: string): name is ServiceName => Object.hasOwn(PUBLIC_PATHS, name);

async function metricsText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the lab now. A Lambda runtime (`<service>-runtime`) serves its `/metrics` under its
 * service's path on its own port; its instances are worker threads, so their CPU is its own.
 */
export async function sampleLab(state: LabState): Promise<LabSample> {
  const status = await labStatus();
  const processes = status?.processes ?? [];
  const roots: CpuRoot[] = [
    { name: DAEMON_NAME, pid: state.pid },
    ...processes.flatMap((p) => (p.pid === undefined ? [] : [{ name: p.name, pid: p.pid }])),
  ];
  const sources = processes.flatMap((p) => {
    const service = p.name.replace(/-runtime$/, '');
    return p.kind === 'service' && isService(service)
      ? [{ name: p.name, url: `http://${HOST}:${p.port}/api/${PUBLIC_PATHS[service]}/metrics` }]
      : [];
  });
  const texts = await Promise.all(sources.map((s) => metricsText(s.url)));
  const aws = Object.fromEntries(
    sources.map((s, i) => {
      const text = texts[i];
      return [s.name, text === undefined ? undefined : parseAwsCalls(text)];
    }),
  );
  const cpu = sampleCpu(roots, { pid: process.pid, name: BENCH_NAME, childrenName: K6_NAME });
  return { cpu, aws };
}
