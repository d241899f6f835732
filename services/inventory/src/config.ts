import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const InventoryConfigSchema = Type.Object({
  REDIS_URL: Type.String({ minLength: 1, description: 'Redis (read cache), through the lab link' }),
  RESERVATION_HOLD_SECONDS: Type.Integer({
    minimum: 5,
    maximum: 3600,
    default: 60,
    description: 'How long a reservation whose order never committed holds stock before the sweeper frees it',
  }),
  SWEEP_INTERVAL_MS: Type.Integer({ minimum: 500, maximum: 600_000, default: 5000 }),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 5 }),
});

export type InventoryConfig = ReturnType<typeof loadInventoryConfig>;
export const loadInventoryConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(InventoryConfigSchema, env);
