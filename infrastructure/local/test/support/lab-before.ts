// tap's `before` hook: the tests that need engines share one local lab, brought up once here.
import { labUp } from '../../src/index.js';

const started = Date.now();
const state = await labUp({ timeoutMs: 300_000 });
process.stdout.write(`# lab up in ${Date.now() - started} ms: ${state.gateway}\n`);
