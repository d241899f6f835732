import { startServer } from '@cloudcafe/kit';
import { buildRuntimeApp } from './app.js';
import { loadRuntimeConfig } from './config.js';

const config = loadRuntimeConfig();
const { app, runtime } = await buildRuntimeApp(config);
await startServer(app);
runtime.start(Math.min(config.LAMBDA_IDLE_MS, 10_000));
