import { buildServiceApp, type ServiceApp } from '@cloudcafe/kit';
import { Redis } from 'ioredis';
import pg from 'pg';
import Type from 'typebox';
import type { PlaceholderConfig } from './config.js';

/**
 * The placeholder service proves the lab's path end to end — gateway → service → Toxiproxy link
 * → engine — until the real services land. `GET /api/placeholder/dependencies` makes one call
 * across each link and reports how long it took, which is what a latency fault must move.
 */

const Timings = Type.Object({
  redisMs: Type.Number({ description: 'One Redis PING across the placeholder-to-redis link' }),
  postgresMs: Type.Number({ description: 'One SELECT 1 across the placeholder-to-postgres link' }),
});

async function timed(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call();
  return Math.round((performance.now() - started) * 100) / 100;
}

export async function buildApp(config: PlaceholderConfig): Promise<ServiceApp> {
  // Fail fast while a link is cut, rather than queueing commands until it returns.
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  const db = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4, connectionTimeoutMillis: 2000 });
  // Both clients reconnect by themselves and health reports the outage. Without these
  // listeners an idle connection dropped by a cut link is an unhandled 'error' event, which
  // would crash the process: the opposite of what a chaos lab needs to see.
  redis.on('error', () => {});
  db.on('error', () => {});
  await redis.connect().catch(() => {});

  const app = await buildServiceApp({
    service: 'placeholder',
    config,
    routes: async (api) => {
      api.get('/dependencies', { schema: { response: { 200: Timings } } }, async () => ({
        redisMs: await timed(() => redis.ping()),
        postgresMs: await timed(() => db.query('SELECT 1')),
      }));
    },
  });
  app.health.register('redis', () => redis.ping());
  app.health.register('postgres', () => db.query('SELECT 1'));
  app.shutdown.register('resources', 'close connections', async () => {
    redis.disconnect();
    await db.end();
  });
  return app;
}
