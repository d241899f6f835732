import type { Scenario } from 'k6/options';
import { durationKnob, intKnob } from './config.ts';

/**
 * The traffic shapes every scenario draws from, in one place. Rates are iterations per second
 * (open model: arrival-rate executors, so a slow system meets the same demand instead of
 * quietly receiving less). Each shape ends: a duration, a gracefulStop and a VU cap.
 */

export const PROFILES = ['smoke', 'average', 'stress', 'spike', 'soak'] as const;
export type Profile = (typeof PROFILES)[number];

/** The knobs every run shares: RATE (/s), DURATION, VUS (the VU cap), PREALLOCATED_VUS. */
export interface Knobs {
  readonly rate: number;
  readonly durationSeconds: number;
  readonly vus: number;
  /**
   * VUs made before the start (at most `vus`). An arrival that finds every VU busy is dropped
   * while k6 makes another, so iterations lasting seconds (a checkout polling to terminal) need
   * more than one second's arrivals made up front.
   */
  readonly preAllocatedVus: number;
}

/**
 * Reads RATE, DURATION, VUS and PREALLOCATED_VUS (default: one second's arrivals) with a
 * scenario's defaults; hard caps keep every run bounded.
 */
export function knobs(defaults: Omit<Knobs, 'preAllocatedVus'>, maxDurationSeconds = 2 * 3600): Knobs {
  const rate = intKnob('RATE', defaults.rate, 1, 5000);
  const vus = intKnob('VUS', defaults.vus, 1, 2000);
  return {
    rate,
    durationSeconds: durationKnob('DURATION', defaults.durationSeconds, 1, maxDurationSeconds),
    vus,
    preAllocatedVus: Math.min(vus, intKnob('PREALLOCATED_VUS', Math.max(2, rate), 1, 2000)),
  };
}

export function profileFromEnv(fallback: Profile): Profile {
  const raw = __ENV.PROFILE;
  if (raw === undefined || raw === '') return fallback;
  if (!(PROFILES as readonly string[]).includes(raw)) {
    throw new Error(`cloudcafe load: PROFILE must be one of ${PROFILES.join(', ')}, got "${raw}"`);
  }
  return raw as Profile;
}

const s = (seconds: number): string => `${Math.max(1, Math.round(seconds))}s`;

/**
 * One executor for a profile:
 * - smoke: one VU, one iteration — every path once, fast.
 * - average: the rate held for the duration.
 * - stress: ramps to 3× the rate over the first half, holds, ramps down.
 * - spike: the rate, then 5× within a few seconds for a fifth of the run, then back.
 * - soak: a third of the rate (at least 1/s) for the whole, long duration.
 */
export function profileScenario(profile: Profile, k: Knobs, exec = 'default'): Scenario {
  const d = k.durationSeconds;
  const vuCap = { preAllocatedVUs: Math.min(k.vus, k.preAllocatedVus), maxVUs: k.vus };
  switch (profile) {
    case 'smoke':
      return { executor: 'per-vu-iterations', exec, vus: 1, iterations: 1, maxDuration: '60s' };
    case 'average':
      return {
        executor: 'constant-arrival-rate',
        exec,
        rate: k.rate,
        timeUnit: '1s',
        duration: s(d),
        gracefulStop: '10s',
        ...vuCap,
      };
    case 'stress':
      return {
        executor: 'ramping-arrival-rate',
        exec,
        startRate: k.rate,
        timeUnit: '1s',
        stages: [
          { target: k.rate * 3, duration: s(d * 0.5) },
          { target: k.rate * 3, duration: s(d * 0.3) },
          { target: k.rate, duration: s(d * 0.2) },
        ],
        gracefulStop: '10s',
        ...vuCap,
      };
    case 'spike':
      return {
        executor: 'ramping-arrival-rate',
        exec,
        startRate: k.rate,
        timeUnit: '1s',
        stages: [
          { target: k.rate, duration: s(d * 0.3) },
          { target: k.rate * 5, duration: s(Math.min(5, d * 0.1)) },
          { target: k.rate * 5, duration: s(d * 0.2) },
          { target: k.rate, duration: s(Math.min(5, d * 0.1)) },
          { target: k.rate, duration: s(d * 0.3) },
        ],
        gracefulStop: '10s',
        ...vuCap,
      };
    case 'soak':
      return {
        executor: 'constant-arrival-rate',
        exec,
        rate: Math.max(1, Math.round(k.rate / 3)),
        timeUnit: '1s',
        duration: s(d),
        gracefulStop: '10s',
        ...vuCap,
      };
  }
}
