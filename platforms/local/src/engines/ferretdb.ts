import { join } from 'node:path';
import { ensureDir } from '../paths.js';
import { HOST, PORTS } from '../ports.js';
import { tcpOpen } from '../probes.js';
import type { EngineSpec } from './types.js';

/** FerretDB v1 on its SQLite backend speaks the MongoDB wire protocol (DocumentDB on AWS). */
export const ferretdb: EngineSpec = {
  name: 'mongo',
  port: PORTS.mongo,
  process(paths) {
    const dir = ensureDir(paths.dataDir('mongo'));
    return {
      name: 'mongo',
      kind: 'engine',
      command: join(paths.toolsBin, 'ferretdb'),
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
        `--state-dir=${dir}`,
        `--listen-addr=${HOST}:${PORTS.mongo}`,
        // its metrics/debug listener defaults to 8088; keep it off the lab's port plan
        `--debug-addr=${HOST}:0`,
        '--telemetry=disable',
        '--log-level=warn',
      ],
      port: PORTS.mongo,
      ready: () => tcpOpen(PORTS.mongo),
    };
  },
};
