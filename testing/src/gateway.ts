import { labPaths, readLabState } from '@cloudcafe/local-platform';

/** An HTTP answer with its parsed JSON body (undefined when there is none). */
export interface Answer<T = unknown> {
  status: number;
  body: T;
}

/**
 * One call to the running lab, the way a client makes it: a path goes through the gateway,
 * an absolute URL (an engine or simulator behind it) is called as given.
 */
export async function api<T = Record<string, unknown>>(
  method: string,
  pathOrUrl: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up: run through `npm test` or `npx cloudcafe lab up` first');
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${state.gateway}${pathOrUrl}`;
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
