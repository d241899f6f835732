import { HOST, PORTS } from './ports.js';

/**
 * A client for Toxiproxy's HTTP API. The API is small and stable, and the npm client is thinly
 * maintained, so CloudCafe calls it directly.
 */

export interface Proxy {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
  readonly toxics: readonly Toxic[];
}

export const TOXIC_TYPES = [
  'latency',
  'bandwidth',
  'slow_close',
  'timeout',
  'reset_peer',
  'slicer',
  'limit_data',
] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];

export interface Toxic {
  readonly name: string;
  readonly type: ToxicType;
  /** `downstream` is upstream → client (responses); `upstream` is client → upstream. */
  readonly stream: 'upstream' | 'downstream';
  readonly toxicity: number;
  readonly attributes: Readonly<Record<string, number>>;
}

export class ToxiproxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ToxiproxyError';
  }
}

export class ToxiproxyClient {
  constructor(readonly baseUrl: string = `http://${HOST}:${PORTS.toxiproxy}`) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    if (!res.ok) throw new ToxiproxyError(`${method} ${path}: ${res.status} ${text.trim()}`, res.status);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async proxies(): Promise<Record<string, Proxy>> {
    return this.call('GET', '/proxies');
  }

  async proxy(name: string): Promise<Proxy> {
    return this.call('GET', `/proxies/${encodeURIComponent(name)}`);
  }

  /** Creates the proxy, or brings an existing one back to this shape with no toxics. */
  async ensureProxy(name: string, listen: string, upstream: string): Promise<Proxy> {
    const existing = await this.proxy(name).catch((e: unknown) => {
      if (e instanceof ToxiproxyError && e.status === 404) return undefined;
      throw e;
    });
    if (!existing) return this.call('POST', '/proxies', { name, listen, upstream, enabled: true });
    for (const toxic of existing.toxics) await this.removeToxic(name, toxic.name);
    return this.call('POST', `/proxies/${encodeURIComponent(name)}`, { listen, upstream, enabled: true });
  }

  /** `enabled: false` closes the listener and every connection: the link is down. */
  async setEnabled(name: string, enabled: boolean): Promise<Proxy> {
    return this.call('POST', `/proxies/${encodeURIComponent(name)}`, { enabled });
  }

  async addToxic(proxy: string, toxic: Omit<Toxic, 'toxicity'> & { toxicity?: number }): Promise<Toxic> {
    return this.call('POST', `/proxies/${encodeURIComponent(proxy)}/toxics`, { toxicity: 1, ...toxic });
  }

  async removeToxic(proxy: string, toxic: string): Promise<void> {
    await this.call('DELETE', `/proxies/${encodeURIComponent(proxy)}/toxics/${encodeURIComponent(toxic)}`);
  }

  /** Enables every proxy and removes every toxic. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
}
