import type { ActiveFault, Effect } from '@cloudcafe/chaos-interface';
import type { Experiment, Fault, Probe } from '../../src/experiment/schema.js';
import type { Platform } from '../../src/platform.js';
import type { ProbeResult } from '../../src/probes.js';

/**
 * A platform for unit tests of the run lifecycle: no lab, no cluster, no account. Its driver
 * and probes do nothing but record what they were asked, in order, and answer as the test
 * scripts them. Any step can be held open with a gate, so a test can abort the run while that
 * very step is under way and see what the runner does about it.
 */

/** A promise the test opens when it wants: the step waits on it. */
export class Gate {
  readonly opened: Promise<void>;
  private release: () => void = () => {};
  /** Resolves when something starts waiting on the gate: the step is under way. */
  readonly reached: Promise<void>;
  private arrived: () => void = () => {};

  constructor() {
    this.opened = new Promise((r) => {
      this.release = r;
    });
    this.reached = new Promise((r) => {
      this.arrived = r;
    });
  }

  open(): void {
    this.release();
  }

  async pass(): Promise<void> {
    this.arrived();
    await this.opened;
  }
}

export interface FakeScript {
  /** Per probe name: its verdict (default: ok), or a gate the probe waits on first. */
  readonly probes?: Record<string, { ok?: boolean; gate?: Gate; results?: boolean[] }>;
  /** Per fault tag index (0, 1, …): how inject, verify and revert behave. */
  readonly faults?: Record<
    number,
    {
      injectGate?: Gate;
      injectError?: string;
      verifyGate?: Gate;
      verified?: boolean;
      revert?: 'ok' | 'unverified' | 'throws';
    }
  >;
}

export interface FakePlatform extends Platform {
  /** What happened, in order: `probe <name>`, `inject <tag>`, `verify <tag>`, `revert <tag>`. */
  readonly calls: string[];
}

const ok = (detail: string): Effect => ({ verified: true, detail });

export function fakePlatform(script: FakeScript = {}): FakePlatform {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  const probe = async (p: Probe): Promise<ProbeResult> => {
    calls.push(`probe ${p.name}`);
    const spec = script.probes?.[p.name];
    await spec?.gate?.pass();
    const n = seen.get(p.name) ?? 0;
    seen.set(p.name, n + 1);
    const passed = spec?.results?.[Math.min(n, spec.results.length - 1)] ?? spec?.ok ?? true;
    return {
      name: p.name,
      ok: passed,
      observed: passed ? 'fine' : 'broken',
      status: passed ? 200 : 500,
      latencyMs: 1,
      at: new Date().toISOString(),
    };
  };
  return {
    name: 'local',
    calls,
    // never called: the fake's probes answer themselves
    target: {
      gateway: () => 'http://fake-platform.invalid',
      adminToken: () => 'fake',
      sources: () => {
        throw new Error('the fake platform has no data sources: its audit answers itself');
      },
    },
    probe,
    probeOnce: probe,
    audit: async () => [],
    driver: {
      platform: 'local',
      unsupported: () => undefined,
      async inject(fault: Fault, tag: string): Promise<ActiveFault> {
        const index = Number(tag.split('-').at(-1));
        const spec = script.faults?.[index] ?? {};
        calls.push(`inject ${tag}`);
        await spec.injectGate?.pass();
        if (spec.injectError) throw new Error(spec.injectError);
        return {
          fault,
          revertPlan: `undo ${tag}`,
          async verify() {
            calls.push(`verify ${tag}`);
            await spec.verifyGate?.pass();
            return { verified: spec.verified ?? true, detail: 'acts' };
          },
          async revert() {
            calls.push(`revert ${tag}`);
            if (spec.revert === 'throws') throw new Error('the platform refused');
            return spec.revert === 'unverified' ? { verified: false, detail: 'still there' } : ok('undone');
          },
        };
      },
    },
  };
}

const probe = (name: string): Probe => ({
  type: 'http',
  name,
  path: '/api/orders/health',
  tolerance: { type: 'status', equals: 200 },
});

/** A valid experiment: `healthy` before and after, the given method, quick recovery. */
export function experimentWith(method: Experiment['method'], extra: Partial<Experiment> = {}): Experiment {
  return {
    id: 'lifecycle',
    title: 'lifecycle',
    description: 'a unit test of the run lifecycle',
    tags: ['test'],
    platforms: ['local'],
    steadyState: { probes: [probe('healthy')] },
    method,
    recovery: { within: '2s' },
    ...extra,
  };
}

export const faultStep = (name: string, duration = '50ms'): Experiment['method'][number] => ({
  type: 'fault',
  name,
  fault: { type: 'partition', link: 'order-to-postgres' },
  duration,
});

export const probeStep = (name: string): Experiment['method'][number] => ({
  type: 'probe',
  probe: probe(name),
});
export const abortOn = (name: string, forDuration = '0s'): NonNullable<Experiment['abort']>[number] => ({
  name,
  probe: probe(name),
  for: forDuration,
});
