import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { buildCloudCafe, type CloudCafeStacks } from '../../src/app.js';
import { type LabSettings, readSettings } from '../../src/config.js';

export interface Synthesized {
  readonly stacks: CloudCafeStacks;
  readonly assembly: CloudAssembly;
  /** Template per stack id (`CloudCafe-Data`, …). */
  readonly templates: Record<string, Template>;
  /** Every cdk-nag finding left unsuppressed, as `path: message`. */
  readonly nagErrors: string[];
}

/**
 * Synthesizes the whole app once, in-process, with no credentials and no network, as `cdk synth`
 * would: cdk-nag runs as it does for a deploy, and the payment handler is bundled by esbuild.
 * The settings come from an empty context, so the committed defaults (the real payment entry
 * unless CLOUDCAFE_PAYMENT_ENTRY is set) are what is tested.
 */
export function synthesize(overrides: Partial<LabSettings> = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudcafe-cdk-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': ['**'] } });
  const settings = { ...readSettings(() => undefined), ...overrides };
  const stacks = buildCloudCafe(app, { settings });
  const assembly = app.synth();
  const templates: Record<string, Template> = {};
  for (const stack of Object.values(stacks)) templates[stack.stackName] = Template.fromStack(stack);
  const nagErrors = assembly.stacks.flatMap((artifact) =>
    artifact.messages
      .filter((m) => m.level === 'error' && String(m.entry.data).includes('AwsSolutions-'))
      .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`),
  );
  return { stacks, assembly, templates, nagErrors };
}
