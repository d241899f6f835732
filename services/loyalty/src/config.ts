import { STREAMS, TABLES } from '@cloudcafe/contracts';
import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const LoyaltyConfigSchema = Type.Object({
  REDIS_URL: Type.String({
    minLength: 1,
    description: 'Redis (MemoryDB on AWS): balances, ledger, checkpoints',
  }),
  LOYALTY_STREAM: Type.String({ minLength: 1, default: STREAMS.orderEvents }),
  LOYALTY_LEASE_TABLE: Type.String({
    minLength: 1,
    default: TABLES.kinesisLeases,
    description: 'DynamoDB: which instance reads which shard (ADR 0018)',
  }),
  LOYALTY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
});

export type LoyaltyConfig = ReturnType<typeof loadLoyaltyConfig>;
export const loadLoyaltyConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(LoyaltyConfigSchema, env);
