import { startServer } from '@cloudcafe/kit';
import { buildApp } from './app.js';
import { loadAnalyticsConfig } from './config.js';

await startServer(await buildApp(loadAnalyticsConfig()));
