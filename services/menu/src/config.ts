import { loadConfig } from '@cloudcafe/kit';
import Type from 'typebox';

export const MenuConfigSchema = Type.Object({
  MONGO_URL: Type.String({ minLength: 1, description: 'MongoDB wire (FerretDB locally, DocumentDB on AWS)' }),
  REDIS_URL: Type.String({ minLength: 1, description: 'Redis, the read cache' }),
  MENU_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 300 }),
  // A cache slower than this is treated as down: the read goes to MongoDB instead of waiting.
  MENU_REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 5000, default: 100 }),
});

export type MenuConfig = ReturnType<typeof loadMenuConfig>;
export const loadMenuConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig(MenuConfigSchema, env);
