import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadOrderConfig } from './config.js';

await startServer(await buildApp(loadOrderConfig()));
