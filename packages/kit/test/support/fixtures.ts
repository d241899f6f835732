import Type from 'typebox';
import { type KitConfig, loadConfig } from '../../src/config.js';
import type { ServiceName } from '../../src/services.js';
import { defineStressScenario } from '../../src/stress.js';

/** The admin token the test apps are configured with. */
export const TOKEN = 'test-admin-token-0123456789abcdef';
export const ADMIN = { authorization: `Bearer ${TOKEN}` };

/** A configuration as the lab would pass it, with CloudWatch off unless a test turns it on. */
export function testConfig(service: ServiceName, env: Record<string, string> = {}): KitConfig {
  return loadConfig(undefined, {
    SERVICE_NAME: service,
    PORT: '3999',
    ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
    METRICS_CLOUDWATCH: 'off',
    ...env,
  });
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A scenario that does a little real work (SHA-256 chain) in chunks until its signal fires or
 * it has done `rounds` rounds, reporting progress as it goes.
 */
export const hashChain = defineStressScenario({
  name: 'hash-chain',
  description: 'Chains SHA-256 digests in chunks',
  knobs: Type.Object(
    {
      rounds: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
      durationSeconds: Type.Integer({ minimum: 1, maximum: 60, default: 30 }),
    },
    { additionalProperties: false },
  ),
  durationMs: (knobs) => knobs.durationSeconds * 1000,
  run: async (knobs, ctx) => {
    const { createHash } = await import('node:crypto');
    let digest = 'seed';
    let done = 0;
    while (done < knobs.rounds && !ctx.signal.aborted) {
      for (let i = 0; i < 200; i++) digest = createHash('sha256').update(digest).digest('hex');
      done += 1;
      ctx.progress(done / knobs.rounds, `${done} rounds`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { rounds: done, digest };
  },
});
