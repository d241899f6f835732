import { readFileSync } from 'node:fs';
import { labPaths, readLabState } from '@cloudcafe/local-platform';

// Support for the tests that run against the shared lab tap's before-hook brought up.

export function lab() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npx tap` or `npx cloudcafe lab up` first');
  return state;
}

export const adminHeaders = () => ({
  authorization: `Bearer ${readFileSync(lab().adminTokenFile, 'utf8').trim()}`,
  'content-type': 'application/json',
});

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
  ms: number;
}

export async function call<T>(path: string, init: RequestInit = {}): Promise<Answer<T>> {
  const started = performance.now();
  const res = await fetch(`${lab().gateway}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: res.headers,
    ms: performance.now() - started,
  };
}

/** A counter's value summed over its series, from the service's Prometheus text. */
export async function counter(name: string, service = 'menu'): Promise<number> {
  const res = await fetch(`${lab().gateway}/api/${service}/metrics`);
  let total = 0;
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.split(' ').at(-1));
  }
  return total;
}
