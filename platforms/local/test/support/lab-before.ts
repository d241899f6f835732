// tap's `before` hook: the tests that need engines share one local lab, brought up once here.
import { labUp } from '../../src/index.js';

// tap starts this hook with V8 coverage on, and every process spawned from here inherits it.
// The lab outlives the hook and is not what is under test, but its processes would write
// coverage when they stop; tap then finds coverage data although coverage is disabled for the
// run, reports it as incomplete and exits 1 with every test passed. The lab runs uninstrumented.
process.env._TAPJS_PROCESSINFO_COVERAGE_ = '0';

const started = Date.now();
const state = await labUp({ timeoutMs: 300_000 });
process.stdout.write(`# lab up in ${Date.now() - started} ms: ${state.gateway}\n`);
