import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CreateReservation, InventoryItem, Reservation, Sku, TABLES } from '@cloudcafe/contracts';
import { buildServiceApp, CafeError, errorResponses, type ServiceApp } from '@cloudcafe/kit';
import { Redis } from 'ioredis';
import Type from 'typebox';
import { CatalogueCache, itemKey, pageKey } from './cache.js';
import { FLASH_SALE_SKU, SEED_CATALOGUE } from './catalogue.js';
import type { InventoryConfig } from './config.js';
import { createRestockScenario } from './restock-scenario.js';
import { InventoryStore, toView } from './store.js';

export interface BuildOptions {
  /** Seeding and the expiry sweeper; off for unit tests that have no engines. */
  workers?: boolean;
}

const SkuParams = Type.Object({ sku: Sku });
const OrderParams = Type.Object({ orderId: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }) });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
);
const ItemPage = Type.Object({
  items: Type.Array(InventoryItem),
  nextCursor: Type.Optional(Type.String({ description: 'Pass as cursor for the next page' })),
});
const Restock = Type.Object(
  { quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
  { additionalProperties: false },
);
const Product = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120 }),
    category: Type.String({ minLength: 1, maxLength: 40, default: 'other' }),
    price: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Unit price in cents' }),
  },
  { additionalProperties: false },
);
const ADMIN = { config: { cafeAdmin: true } } as const;
/**
 * Reservations are service-to-service: the order service reserves, attaches, commits and
 * releases them. From outside (the gateway, the public ALB) they answer 401 without the
 * service credential, so nobody sells stock with no order behind it or frees another
 * customer's hold.
 */
const INTERNAL = { config: { cafeInternal: true } } as const;

export async function buildApp(config: InventoryConfig, options: BuildOptions = {}): Promise<ServiceApp> {
  // Fail fast while the Redis link is cut rather than queueing commands: the cache is optional.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 500,
  });
  // An idle connection dropped by a cut link emits 'error'; unhandled, it would crash the process.
  redis.on('error', () => {});
  await redis.connect().catch(() => {});

  let store: InventoryStore | undefined;
  let cache: CatalogueCache | undefined;
  const app = await buildServiceApp({
    service: 'inventory',
    config,
    scenarios: [createRestockScenario(redis)],
    routes: async (api) => {
      api.get(
        '/',
        {
          schema: {
            summary: 'The catalogue with stock, a page at a time',
            querystring: ListQuery,
            response: { 200: ItemPage, ...errorResponses(400, 502, 503, 504) },
          },
        },
        async (request) => {
          const { limit, cursor } = request.query;
          return cached().read(pageKey(limit, cursor), () => inventory().list(limit, cursor));
        },
      );
      api.get(
        '/:sku',
        {
          schema: {
            summary: 'One SKU: price and stock',
            params: SkuParams,
            response: { 200: InventoryItem, ...errorResponses(400, 404, 502, 503, 504) },
          },
        },
        async (request) => {
          const { sku } = request.params;
          const item = await cached().read(itemKey(sku), () => inventory().get(sku));
          if (!item) throw new CafeError('CAFE_ERR_NOT_FOUND', `no sku ${sku}`);
          return item;
        },
      );
      api.put(
        '/:sku',
        {
          ...ADMIN,
          onRequest: [api.requireAdmin],
          schema: {
            summary: 'Admin: create a SKU (no stock) or change its name and price',
            params: SkuParams,
            body: Product,
            response: { 200: InventoryItem, ...errorResponses(400, 401, 502, 503, 504) },
          },
        },
        async (request) => {
          const { name, category, price } = request.body;
          const item = await inventory().upsert(request.params.sku, name, category, price);
          await cached().invalidate([item.sku]);
          return item;
        },
      );
      api.post(
        '/:sku/restock',
        {
          ...ADMIN,
          onRequest: [api.requireAdmin],
          schema: {
            summary: 'Admin: add stock to a SKU',
            params: SkuParams,
            body: Restock,
            response: { 200: InventoryItem, ...errorResponses(400, 401, 404, 502, 503, 504) },
          },
        },
        async (request) => {
          const item = await inventory().restock(request.params.sku, request.body.quantity);
          await cached().invalidate([item.sku]);
          return item;
        },
      );
      api.post(
        '/reservations',
        {
          ...INTERNAL,
          onRequest: [api.requireService],
          schema: {
            summary: 'Reserve every item of an order or none (idempotent by orderId)',
            body: CreateReservation,
            response: {
              200: Reservation,
              201: Reservation,
              ...errorResponses(400, 401, 404, 409, 429, 502, 503, 504),
            },
          },
        },
        async (request, reply) => {
          const { orderId, items } = request.body;
          const { reservation, created } = await inventory().reserve(orderId, items);
          await cached().invalidate(reservation.items.map((l) => l.sku));
          return reply.code(created ? 201 : 200).send(toView(reservation));
        },
      );
      api.get(
        '/reservations/:orderId',
        {
          ...INTERNAL,
          onRequest: [api.requireService],
          schema: {
            summary: "An order's reservation",
            params: OrderParams,
            response: { 200: Reservation, ...errorResponses(400, 401, 404, 502, 503, 504) },
          },
        },
        async (request) => {
          const found = await inventory().reservation(request.params.orderId);
          if (!found)
            throw new CafeError('CAFE_ERR_NOT_FOUND', `no reservation for order ${request.params.orderId}`);
          return toView(found);
        },
      );
      for (const action of ['attach', 'commit', 'release'] as const) {
        api.post(
          `/reservations/:orderId/${action}`,
          {
            ...INTERNAL,
            onRequest: [api.requireService],
            schema: {
              summary: {
                attach: 'The order committed: stop the hold from expiring',
                commit: 'Paid: reserved stock becomes sold',
                release: 'Return the stock (cancel, payment failed)',
              }[action],
              params: OrderParams,
              response: { 200: Reservation, ...errorResponses(400, 401, 404, 409, 502, 503, 504) },
            },
          },
          async (request) => {
            const { orderId } = request.params;
            const s = inventory();
            const result =
              action === 'attach'
                ? await s.attach(orderId)
                : action === 'commit'
                  ? await s.commit(orderId)
                  : await s.release(orderId, 'requested');
            await cached().invalidate(result.items.map((l) => l.sku));
            return toView(result);
          },
        );
      }
    },
  });
  cache = new CatalogueCache(app, redis, config.CACHE_TTL_SECONDS);
  store = new InventoryStore(app, {
    holdSeconds: config.RESERVATION_HOLD_SECONDS,
    onStockChange: (skus) => cached().invalidate(skus),
    maxInFlight: config.DYNAMODB_MAX_IN_FLIGHT,
    maxOpsPerWrite: config.STOCK_MAX_OPS_PER_WRITE,
    retentionMs: config.RESERVATION_RETENTION_SECONDS * 1000,
    reservationMaxWaitMs: config.RESERVATION_MAX_WAIT_MS,
  });
  function inventory(): InventoryStore {
    if (!store) throw new Error('inventory store used before the app was built');
    return store;
  }
  function cached(): CatalogueCache {
    if (!cache) throw new Error('cache used before the app was built');
    return cache;
  }

  let seeded = false;
  app.health.register('dynamodb', async () => {
    await app.aws.documentClient.send(
      new GetCommand({ TableName: TABLES.inventory, Key: { sku: FLASH_SALE_SKU } }),
    );
    if (options.workers !== false && !seeded) throw new Error('catalogue not seeded yet');
  });

  const stopping = new AbortController();
  let sweeper: Promise<void> = Promise.resolve();
  if (options.workers !== false) {
    app.addHook('onReady', async () => {
      sweeper = runWorkers();
    });
  }
  async function runWorkers(): Promise<void> {
    // The emulator forgets everything on restart, so the catalogue is seeded at every start.
    while (!seeded && !stopping.signal.aborted) {
      try {
        const created = await inventory().seed(SEED_CATALOGUE);
        seeded = true;
        app.log.info({ created }, 'catalogue seeded');
      } catch (err) {
        app.log.warn({ err }, 'seeding failed; retrying');
        await sleep(1000, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
    while (!stopping.signal.aborted) {
      try {
        const released = await inventory().sweepExpired();
        if (released > 0) app.log.info({ released }, 'expired reservations released');
      } catch (err) {
        app.log.warn({ err }, 'reservation sweep failed; next round retries');
      }
      await sleep(config.SWEEP_INTERVAL_MS, undefined, { signal: stopping.signal }).catch(() => {});
    }
  }
  app.shutdown.register('consumers', 'reservation sweeper', async () => {
    stopping.abort();
    await sweeper;
  });
  app.shutdown.register('resources', 'redis', async () => {
    redis.disconnect();
  });
  // An app closed without the shutdown sequence (tests, embedding) must not keep reconnecting.
  app.addHook('onClose', async () => {
    stopping.abort();
    redis.disconnect();
  });
  return app;
}
