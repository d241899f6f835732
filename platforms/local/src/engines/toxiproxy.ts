import { join } from 'node:path';
import { HOST, PORTS } from '../ports.js';
import { httpOk } from '../probes.js';
import type { EngineSpec } from './types.js';

/** Toxiproxy sits on every link so that any link can be slowed or cut. */
export const toxiproxy: EngineSpec = {
  name: 'toxiproxy',
  port: PORTS.toxiproxy,
  process(paths) {
    return {
      name: 'toxiproxy',
      kind: 'tool',
      command: join(paths.toolsBin, 'toxiproxy-server'),
      args: ['-host', HOST, '-port', String(PORTS.toxiproxy)],
      // Without LOG_LEVEL Toxiproxy logs at trace: a line per read and write on every link
      // (138 MB an hour under load, and CPU on the hot path). Warnings still show.
      env: { LOG_LEVEL: 'warn' },
      port: PORTS.toxiproxy,
      ready: () => httpOk(`http://${HOST}:${PORTS.toxiproxy}/version`),
    };
  },
};
