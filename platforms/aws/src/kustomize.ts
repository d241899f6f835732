import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (this file is platforms/aws/src/kustomize.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A Kubernetes object as plain data. */
export type KubernetesObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

/**
 * The kustomize binary: `$KUSTOMIZE`, else the one `scripts/bootstrap` builds into
 * `.tools/bin`, else `kustomize` on PATH. Kustomize is a Go program; no npm package renders
 * overlays faithfully, so the lab builds the real one from the Go module proxy.
 */
export function kustomizeBinary(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.KUSTOMIZE) return env.KUSTOMIZE;
  const tools = env.CLOUDCAFE_TOOLS_DIR ?? join(REPO_ROOT, '.tools');
  const built = join(tools, 'bin', 'kustomize');
  return existsSync(built) ? built : 'kustomize';
}

/** Renders a kustomization directory (relative to the repo root) into its objects. */
export function renderKustomization(dir: string): KubernetesObject[] {
  const bin = kustomizeBinary();
  let out: string;
  try {
    out = execFileSync(bin, ['build', join(REPO_ROOT, dir)], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `cannot render ${dir} with kustomize (${bin}): ${reason}\n` +
        'Run `bash scripts/bootstrap` to build it into .tools/bin, or set KUSTOMIZE to a kustomize v5 binary.',
    );
  }
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((obj): obj is KubernetesObject => obj !== null);
}
