import { startExpressServer } from '@cloudcafe/kit/express';
import { buildApp } from './app.js';
import { loadMenuConfig } from './config.js';

const { app, kit } = await buildApp(loadMenuConfig());
await startExpressServer(app, kit);
