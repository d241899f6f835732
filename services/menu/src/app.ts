import { AsyncLocalStorage } from 'node:async_hooks';
import {
  CafeError,
  createLogger,
  createMetrics,
  defineRoute,
  errorResponses,
  type FlagStore,
} from '@cloudcafe/kit';
import { buildExpressServiceApp, type ExpressKit } from '@cloudcafe/kit/express';
import type { Express, Response } from 'express';
import { CATEGORIES_KEY, createMenuCache, itemKey, listKey, type MenuCache } from './cache.js';
import type { MenuConfig } from './config.js';
import { menuSync } from './menu-sync.js';
import { CategoryList, Deleted, IdParams, Item, ItemInput, ItemPage, ListQuery, NewItem } from './schemas.js';
import { CATEGORY_NAMES } from './seed.js';
import { createMenuStore, type MenuStore } from './store.js';

/**
 * The menu: Express 5 on the kit. Reads are cache-aside (Redis, TTL from config, `X-Cache:
 * HIT|MISS`); admin writes go to MongoDB and then drop the cached copies.
 */

// Kit routes answer with a status and a body only; the X-Cache header needs the response, so
// a middleware puts it where the handler can reach it for the duration of the request.
const currentResponse = new AsyncLocalStorage<Response>();
const markCache = (state: 'HIT' | 'MISS') => currentResponse.getStore()?.setHeader('X-Cache', state);

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/(^-|-$)/g, '')
    .slice(0, 64);

async function cached<T>(
  cache: MenuCache,
  kit: ExpressKit,
  key: string,
  isList: boolean,
  load: () => Promise<T>,
): Promise<T> {
  const hit = await cache.read(key, kit.flags.value('cache-bypass'));
  if (hit !== undefined) {
    markCache('HIT');
    return JSON.parse(hit) as T;
  }
  markCache('MISS');
  const value = await load();
  if (value !== undefined && !kit.flags.value('cache-bypass'))
    await cache.write(key, JSON.stringify(value), isList);
  return value;
}

export function menuRoutes(store: MenuStore, cache: MenuCache, kit: ExpressKit) {
  return [
    defineRoute({
      method: 'GET',
      url: '/items',
      admin: false,
      summary: 'Menu items, filtered by category and name, a page at a time (cursor)',
      tags: ['menu'],
      schema: { querystring: ListQuery, response: { 200: ItemPage, ...errorResponses(400, 502) } },
      handler: async ({ query }) => ({
        statusCode: 200,
        body: await cached(
          cache,
          kit,
          listKey(['items', query.category, query.q?.toLowerCase(), query.limit, query.cursor]),
          true,
          () => store.list(query),
        ),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/items/:id',
      admin: false,
      summary: 'One menu item',
      tags: ['menu'],
      schema: { params: IdParams, response: { 200: Item, ...errorResponses(400, 404, 502) } },
      handler: async ({ params }) => {
        // A miss for an unknown id is not cached: 404s stay cheap to fix by creating the item.
        const item = await cached(cache, kit, itemKey(params.id), false, () => store.get(params.id));
        if (!item) throw new CafeError('CAFE_ERR_NOT_FOUND', `no menu item ${params.id}`);
        return { statusCode: 200, body: item };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/categories',
      admin: false,
      summary: 'The categories with how many items each has',
      tags: ['menu'],
      schema: { response: { 200: CategoryList, ...errorResponses(502) } },
      handler: async () => ({
        statusCode: 200,
        body: await cached(cache, kit, CATEGORIES_KEY, false, async () => ({
          categories: Object.entries(await store.categories()).map(([id, itemCount]) => ({
            id,
            name: CATEGORY_NAMES[id as keyof typeof CATEGORY_NAMES],
            itemCount,
          })),
        })),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/items',
      admin: true,
      summary: 'Creates an item (id from the name unless given); 409 if it exists',
      tags: ['menu admin'],
      schema: { body: NewItem, response: { 201: Item, ...errorResponses(400, 401, 409, 502) } },
      handler: async ({ body }) => {
        const { id, ...input } = body;
        const itemId = id ?? slug(input.name);
        if (!itemId) throw new CafeError('CAFE_ERR_VALIDATION', 'body.name: must contain letters or digits');
        const item = await store.create(itemId, input);
        await cache.invalidate(itemId);
        return { statusCode: 201, body: item };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/items/:id',
      admin: true,
      summary: 'Replaces an item',
      tags: ['menu admin'],
      schema: {
        params: IdParams,
        body: ItemInput,
        response: { 200: Item, ...errorResponses(400, 401, 404, 502) },
      },
      handler: async ({ params, body }) => {
        const item = await store.replace(params.id, body);
        await cache.invalidate(params.id);
        return { statusCode: 200, body: item };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/items/:id',
      admin: true,
      summary: 'Deletes an item',
      tags: ['menu admin'],
      schema: { params: IdParams, response: { 200: Deleted, ...errorResponses(400, 401, 404, 502) } },
      handler: async ({ params }) => {
        if (!(await store.remove(params.id)))
          throw new CafeError('CAFE_ERR_NOT_FOUND', `no menu item ${params.id}`);
        await cache.invalidate(params.id);
        return { statusCode: 200, body: { id: params.id, deleted: true } };
      },
    }),
  ];
}

export interface MenuApp {
  app: Express;
  kit: ExpressKit;
  store: MenuStore;
  cache: MenuCache;
}

export async function buildApp(config: MenuConfig): Promise<MenuApp> {
  const logger = createLogger({ service: 'menu', level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: 'menu', platform: config.PLATFORM });
  // The store needs the kit's flag store and the kit needs the scenario that uses the store:
  // the store reads the flags through a getter filled in once the kit exists.
  let flags: FlagStore | undefined;
  const store = createMenuStore(config.MONGO_URL, () => flags);
  const cache = createMenuCache({
    url: config.REDIS_URL,
    ttlSeconds: config.MENU_CACHE_TTL_SECONDS,
    timeoutMs: config.MENU_REDIS_TIMEOUT_MS,
    metrics,
    logger,
  });
  const { app, kit } = buildExpressServiceApp({
    service: 'menu',
    config,
    logger,
    metrics,
    scenarios: [menuSync(store, cache)],
    routes: (router, kit) => {
      router.use((_req, res, next) => currentResponse.run(res, next));
      kit.mount(router, menuRoutes(store, cache, kit));
    },
  });
  flags = kit.flags;
  kit.shutdown.register('resources', 'mongo and redis', async () => {
    cache.close();
    await store.close();
  });
  await store.connect();
  const seeded = await store.seed();
  logger.info({ seeded }, 'menu seeded');
  kit.health.register('mongo', () => store.ping());
  // Reported but not required for readiness: the menu answers from MongoDB while Redis is away.
  kit.health.register('redis', () => cache.ping(), { readiness: false });
  return { app, kit, store, cache };
}
