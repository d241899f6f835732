import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadPlaceholderConfig } from './config.js';

await startServer(await buildApp(loadPlaceholderConfig()));
