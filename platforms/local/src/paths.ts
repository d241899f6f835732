import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabPaths } from './engines/types.js';

/** The repository root: this file sits at platforms/local/src/paths.ts. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/**
 * The lab's folders. `.cloudcafe/` (or $CLOUDCAFE_STATE_DIR) holds state and logs; `.tools/` holds what
 * scripts/bootstrap installed (or $CLOUDCAFE_TOOLS_DIR, the same variable bootstrap reads).
 */
export function labPaths(root: string = REPO_ROOT): LabPaths {
  // A second lab on the same machine (CLOUDCAFE_PORT_OFFSET) needs its own state folder too.
  const stateDir = process.env.CLOUDCAFE_STATE_DIR ?? join(root, '.cloudcafe');
  const tools = process.env.CLOUDCAFE_TOOLS_DIR ?? join(root, '.tools');
  return {
    root,
    stateDir,
    dataDir: (name) => join(stateDir, 'data', name),
    logDir: join(stateDir, 'logs'),
    toolsBin: join(tools, 'bin'),
    venvBin: join(tools, 'venv', 'bin'),
  };
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The file `lab up` writes: what runs where. Read by the CLI, the tests and the orchestrator. */
export const labStateFile = (paths: LabPaths): string => join(paths.stateDir, 'lab.json');
export const adminTokenFile = (paths: LabPaths): string => join(paths.stateDir, 'admin-token');
/** The service credential internal routes take (inventory reservations); only services read it. */
export const serviceTokenFile = (paths: LabPaths): string => join(paths.stateDir, 'service-token');

/**
 * Writes a fresh random secret to `file` (owner-only) unless one is there, and returns the
 * file. `lab up` calls it for the admin token and the service credential before the daemon
 * starts, so the CLI can authenticate to the control API while the lab is still coming up.
 */
export function ensureSecretFile(file: string): string {
  if (existsSync(file)) return file;
  mkdirSync(join(file, '..'), { recursive: true });
  // flag wx: two `lab up` racing must not overwrite each other's secret.
  try {
    writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return file;
}
