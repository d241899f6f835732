import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const PlaceholderConfigSchema = Type.Object({
  DATABASE_URL: Type.String({ minLength: 1, description: 'PostgreSQL, through the lab link' }),
  REDIS_URL: Type.String({ minLength: 1, description: 'Redis, through the lab link' }),
});

export type PlaceholderConfig = ReturnType<typeof loadPlaceholderConfig>;
export const loadPlaceholderConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(PlaceholderConfigSchema, env);
