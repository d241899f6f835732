import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadLoyaltyConfig } from './config.js';

await startServer(await buildApp(loadLoyaltyConfig()));
