import { ensureDir } from '../paths.js';
import { HOST, PORTS } from '../ports.js';
import { tcpOpen } from '../probes.js';
import type { EngineSpec } from './types.js';

export const redis: EngineSpec = {
  name: 'redis',
  port: PORTS.redis,
  process(paths) {
    return {
      name: 'redis',
      kind: 'engine',
      command: 'redis-server',
      args: [
        '--bind',
        HOST,
        '--port',
        String(PORTS.redis),
        '--dir',
        ensureDir(paths.dataDir('redis')),
        // Loyalty keeps balances in Redis as it would in MemoryDB (durable): append-only file
        // on, so a restart of Redis (the cache-outage fault) does not lose points.
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--daemonize',
        'no',
      ],
      port: PORTS.redis,
      ready: () => tcpOpen(PORTS.redis),
    };
  },
};
