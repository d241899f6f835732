import { STREAMS, TABLES } from '@cloudcafe/contracts';
import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const AnalyticsConfigSchema = Type.Object({
  DATABASE_URL: Type.String({ minLength: 1, description: 'PostgreSQL warehouse (Redshift on AWS)' }),
  ANALYTICS_STREAM: Type.String({ minLength: 1, default: STREAMS.orderEvents }),
  ANALYTICS_LEASE_TABLE: Type.String({
    minLength: 1,
    default: TABLES.kinesisLeases,
    description: 'DynamoDB: which instance reads which shard (ADR 0018)',
  }),
  ANALYTICS_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 10_000, default: 500 }),
});

export type AnalyticsConfig = ReturnType<typeof loadAnalyticsConfig>;
export const loadAnalyticsConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(AnalyticsConfigSchema, env);
