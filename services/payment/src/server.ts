import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadFrontConfig } from './config.js';

await startServer(await buildApp(loadFrontConfig()));
