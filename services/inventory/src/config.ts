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
  DYNAMODB_MAX_IN_FLIGHT: Type.Integer({
    minimum: 1,
    maximum: 256,
    default: 48,
    description:
      "DynamoDB calls in flight per instance; the rest queue briefly, visibly (the admission budget counts that queue). Keep it under the AWS client's socket pool (50), or calls also wait where nothing counts them",
  }),
  STOCK_MAX_OPS_PER_WRITE: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 100,
    description:
      'Reservation steps one stock write may carry for one SKU (group commit): bounds the request and the item size',
  }),
  RESERVATION_MAX_WAIT_MS: Type.Integer({
    minimum: 100,
    maximum: 60_000,
    default: 8000,
    description:
      'How long, in all, a new reservation may queue for DynamoDB before it is refused with 429 CAFE_ERR_RATE_LIMITED (nothing reserved). Keep it well under the order service INVENTORY_TIMEOUT_MS (15 s), so a buyer gets a clean refusal instead of a 504',
  }),
  RESERVATION_RETENTION_SECONDS: Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 900 }),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 5 }),
});

export type InventoryConfig = ReturnType<typeof loadInventoryConfig>;
export const loadInventoryConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(InventoryConfigSchema, env);
