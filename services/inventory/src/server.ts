import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadInventoryConfig } from './config.js';

await startServer(await buildApp(loadInventoryConfig()));
