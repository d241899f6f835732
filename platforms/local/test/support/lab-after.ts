// tap's `after` hook: take the shared lab down and fail the run if anything is left listening.
import { labDown } from '../../src/index.js';

const busy = await labDown();
if (busy.length > 0) {
  process.stderr.write(`lab down left ports listening: ${busy.join(', ')}\n`);
  process.exitCode = 1;
}
