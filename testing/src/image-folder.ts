import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';

/**
 * An image built the way its Dockerfile says, without a Docker engine (none runs here): every
 * COPY into a clean folder, then its `npm ci` line run there as written. What this cannot show:
 * the base image itself (the steps run on this machine's Node; a test checks the base names a
 * supported line instead) and anything the Dockerfile does outside the app folder.
 */

export interface DockerfileSteps {
  readonly base: string;
  readonly copies: readonly { from: string; to: string }[];
  readonly install: string;
  /** The CMD in its exec form, as a command and its arguments. */
  readonly cmd: readonly string[];
}

/** The FROM, the COPYs into the app folder, the npm ci RUN and the CMD, as the Dockerfile has them. */
export function readSteps(text: string): DockerfileSteps {
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const arg = (instruction: string) =>
    lines.filter((l) => l.startsWith(`${instruction} `)).map((l) => l.slice(instruction.length + 1).trim());
  const copies = arg('COPY')
    .map((c) => c.split(/\s+/))
    .filter((parts) => !parts.some((p) => p.startsWith('/'))) // an entrypoint goes outside /app
    .flatMap((parts) => parts.slice(0, -1).map((from) => ({ from, to: parts.at(-1) as string })));
  const install = arg('RUN').find((r) => r.startsWith('npm ci'));
  const cmd = arg('CMD')[0];
  if (!install || !cmd) throw new Error('the Dockerfile has no `RUN npm ci …` or no CMD');
  return { base: arg('FROM')[0] ?? '', copies, install, cmd: JSON.parse(cmd) as string[] };
}

export interface ImageFolder {
  readonly dir: string;
  readonly steps: DockerfileSteps;
  readonly remove: () => void;
}

/** Performs the Dockerfile's COPYs and its `npm ci` in a new folder; `env` holds its build args. */
export function buildImageFolder(dockerfile: string, env: NodeJS.ProcessEnv = {}): ImageFolder {
  const steps = readSteps(readFileSync(join(REPO_ROOT, dockerfile), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-image-'));
  for (const { from, to } of steps.copies) {
    cpSync(join(REPO_ROOT, from), join(dir, to, to.endsWith('/') ? from : ''), {
      recursive: true,
      // installed trees, as .dockerignore keeps them out; tests, which no image runs
      filter: (src) => !src.includes('/node_modules') && !src.includes('/test/'),
    });
  }
  execFileSync('sh', ['-c', steps.install], {
    cwd: dir,
    env: { ...process.env, ...env, NPM_CONFIG_UPDATE_NOTIFIER: 'false', npm_config_prefer_offline: 'true' },
    stdio: 'pipe',
    timeout: 300_000,
  });
  return { dir, steps, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
