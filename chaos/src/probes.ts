import { readFileSync } from 'node:fs';
import { adminTokenFile, labPaths, readLabState } from '@cloudcafe/local-platform';
import { durationMs, type Probe, type Tolerance } from './experiment/schema.js';

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

async function call(probe: Probe): Promise<Call> {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
  const headers: Record<string, string> = {};
  if (probe.admin)
    headers.authorization = `Bearer ${readFileSync(adminTokenFile(labPaths()), 'utf8').trim()}`;
  if (probe.body) headers['content-type'] = 'application/json';
  const timeoutMs = probe.timeout ? durationMs(probe.timeout) : 5000;
  const started = performance.now();
  try {
    const res = await fetch(`${state.gateway}${probe.path}`, {
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
export async function runProbe(probe: Probe): Promise<ProbeResult> {
  const at = new Date().toISOString();
  if (probe.tolerance.type === 'error-rate') {
    const samples = 10;
    const spacing = durationMs(probe.tolerance.window) / samples;
    const calls: Call[] = [];
    for (let i = 0; i < samples; i++) {
      calls.push(await call(probe));
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
  return runProbeOnce(probe);
}

/** For abort checks at 1 Hz: one call judged as a point (an error-rate probe counts a 5xx as a failure). */
export async function runProbeOnce(probe: Probe): Promise<ProbeResult> {
  const at = new Date().toISOString();
  const c = await call(probe);
  return {
    name: probe.name,
    ok: withinTolerance(probe.tolerance, c),
    observed: describeCall(c),
    status: c.status,
    latencyMs: c.latencyMs,
    at,
  };
}
