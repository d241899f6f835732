import { loadConfig, startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';

await startServer(await buildApp(loadConfig()));
