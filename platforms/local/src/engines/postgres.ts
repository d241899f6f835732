import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ORDERS_DATABASE } from '@cloudcafe/contracts';
import pg from 'pg';
import { ensureDir } from '../paths.js';
import { HOST, PORTS } from '../ports.js';
import type { EngineSpec } from './types.js';

/** The lab's superuser; trust auth is acceptable because it listens on 127.0.0.1 only. */
export const PG_USER = 'cloudcafe';
/** One database per owner, as on AWS (Aurora for orders, Redshift for the warehouse). */
export const PG_DATABASES = [ORDERS_DATABASE, 'cloudcafe_warehouse'] as const;

export const pgUrl = (database: string, port: number = PORTS.postgres): string =>
  `postgres://${PG_USER}@${HOST}:${port}/${database}`;

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).sort().at(-1) : undefined;
  if (!version) throw new Error('PostgreSQL is not installed: run scripts/bootstrap');
  return join(base, version, 'bin');
}

/**
 * PostgreSQL refuses to run as root. When the lab runs as root it runs PostgreSQL as the
 * Debian package's `postgres` user and hands it the data directory.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export const postgres: EngineSpec = {
  name: 'postgres',
  port: PORTS.postgres,
  async prepare(paths) {
    const dir = paths.dataDir('postgres');
    if (existsSync(join(dir, 'PG_VERSION'))) return;
    ensureDir(dir);
    const user = runAs();
    if (user) chownSync(dir, user.uid, user.gid);
    execFileSync(
      join(pgBinDir(), 'initdb'),
      ['-D', dir, '-U', PG_USER, '--auth=trust', '--encoding=UTF8', '--no-instructions'],
      { stdio: 'pipe', ...(user ?? {}) },
    );
  },
  process(paths) {
    const dir = paths.dataDir('postgres');
    const user = runAs();
    return {
      name: 'postgres',
      kind: 'engine',
      command: join(pgBinDir(), 'postgres'),
      args: [
        '-D',
        dir,
        '-p',
        String(PORTS.postgres),
        '-c',
        `listen_addresses=${HOST}`,
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'max_connections=200',
        // The lab must survive process kills (the chaos it exists for), not machine crashes:
        // with fsync off a committed row is in the OS page cache, which a killed PostgreSQL
        // does not lose. It saves seconds on every test run on these shared disks.
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
      ],
      port: PORTS.postgres,
      ...(user ? { runAs: user } : {}),
      ready: async () => {
        const client = new pg.Client({ connectionString: pgUrl('postgres'), connectionTimeoutMillis: 1000 });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => {});
        }
      },
    };
  },
  async provision() {
    const client = new pg.Client({ connectionString: pgUrl('postgres') });
    await client.connect();
    try {
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database');
      const have = new Set(rows.map((r) => r.datname));
      for (const db of PG_DATABASES) {
        if (!have.has(db)) await client.query(`CREATE DATABASE ${db}`);
      }
    } finally {
      await client.end();
    }
  },
};
