import type { ServiceApp } from '@cloudcafe/kit';
import type { Redis } from 'ioredis';

/**
 * A read-through cache for catalogue reads. It is only ever an optimisation: a Redis outage,
 * a slow link or the `cache-bypass` flag send reads to DynamoDB (counted as misses), never to
 * an error. Writes invalidate the SKU's key; list pages simply expire (a few seconds stale).
 */
export class CatalogueCache {
  constructor(
    private readonly app: ServiceApp,
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.app.flags.value('cache-bypass')) {
      this.app.metrics.inc('cache_misses_total', { cache: 'catalogue' });
      return load();
    }
    const cached = await this.redis.get(key).catch(() => null);
    if (cached !== null) {
      this.app.metrics.inc('cache_hits_total', { cache: 'catalogue' });
      return JSON.parse(cached) as T;
    }
    this.app.metrics.inc('cache_misses_total', { cache: 'catalogue' });
    const value = await load();
    if (value !== undefined) {
      await this.redis.set(key, JSON.stringify(value), 'EX', this.ttlSeconds).catch(() => undefined);
    }
    return value;
  }

  async invalidate(skus: readonly string[]): Promise<void> {
    if (skus.length === 0) return;
    await this.redis.del(...skus.map(itemKey)).catch(() => undefined);
  }
}

export const itemKey = (sku: string): string => `inventory:item:${sku}`;
export const pageKey = (limit: number, cursor: string | undefined): string =>
  `inventory:page:${limit}:${cursor ?? ''}`;
