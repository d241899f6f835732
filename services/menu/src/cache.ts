import type { Logger, Metrics } from '@cloudcafe/kit';
import { Redis } from 'ioredis';

/**
 * Cache-aside in Redis. Every call is bounded by a short command timeout and nothing queues
 * while Redis is away (no offline queue), so a slow or cut cache costs a read one timeout at
 * most and the read goes to MongoDB: the menu degrades to slower, never to 5xx.
 */
export interface MenuCache {
  /** The cached JSON, or undefined on a miss, a bypass or a cache failure (all counted as misses). */
  read(key: string, bypass: boolean): Promise<string | undefined>;
  /** Best effort: a failed write is logged and forgotten. */
  write(key: string, value: string, listKey: boolean): Promise<void>;
  /** Drops the item key and every list/category key; retried until Redis takes it. */
  invalidate(itemId?: string): Promise<void>;
  ping(): Promise<unknown>;
  close(): void;
}

const PREFIX = 'menu:v1:';
/** The set of list and category keys, so a write can drop them all without SCAN. */
const LIST_KEYS = `${PREFIX}list-keys`;
export const itemKey = (id: string) => `${PREFIX}item:${id}`;
export const listKey = (parts: readonly (string | number | undefined)[]) =>
  `${PREFIX}list:${parts.map((p) => p ?? '').join('|')}`;
export const CATEGORIES_KEY = `${PREFIX}categories`;

export function createMenuCache(options: {
  url: string;
  ttlSeconds: number;
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}): MenuCache {
  const { ttlSeconds, metrics, logger } = options;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    commandTimeout: options.timeoutMs,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // Dropped connections reconnect by themselves; without a listener they would crash the process.
  redis.on('error', () => {});
  redis.connect().catch(() => {});
  const miss = () => metrics.inc('cache_misses_total', { cache: 'menu' });
  let pending: Set<string | undefined> | undefined;
  let retry: NodeJS.Timeout | undefined;

  async function dropKeys(itemIds: readonly (string | undefined)[]): Promise<void> {
    const keys = await redis.smembers(LIST_KEYS);
    const items = itemIds.filter((id): id is string => id !== undefined).map(itemKey);
    await redis.del(...items, ...keys, LIST_KEYS, CATEGORIES_KEY);
  }

  function retryLater(itemId: string | undefined) {
    pending ??= new Set();
    pending.add(itemId);
    retry ??= setTimeout(async () => {
      retry = undefined;
      const ids = [...(pending ?? [])];
      pending = undefined;
      try {
        await dropKeys(ids);
        logger.info({ items: ids.length }, 'deferred cache invalidation done');
      } catch {
        for (const id of ids) retryLater(id);
      }
    }, 1000);
    retry.unref();
  }

  return {
    async read(key, bypass) {
      if (bypass) {
        miss();
        return undefined;
      }
      try {
        const value = await redis.get(key);
        if (value === null) miss();
        else metrics.inc('cache_hits_total', { cache: 'menu' });
        return value ?? undefined;
      } catch (error) {
        miss();
        logger.debug({ err: error }, 'cache read failed: reading MongoDB');
        return undefined;
      }
    },
    async write(key, value, isList) {
      try {
        const multi = redis.multi().set(key, value, 'EX', ttlSeconds);
        if (isList) multi.sadd(LIST_KEYS, key).expire(LIST_KEYS, ttlSeconds * 2);
        await multi.exec();
      } catch (error) {
        logger.debug({ err: error }, 'cache write failed');
      }
    },
    async invalidate(itemId) {
      try {
        await dropKeys([itemId]);
      } catch (error) {
        // MongoDB has the write; Redis may still hold the old copy. Keep trying in the
        // background (a process that dies first leaves it stale for one TTL at most).
        logger.warn({ err: error, itemId }, 'cache invalidation failed: retrying in the background');
        retryLater(itemId);
      }
    },
    ping: () => redis.ping(),
    close() {
      if (retry) clearTimeout(retry);
      redis.disconnect();
    },
  };
}
