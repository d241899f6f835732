import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_REGISTRY } from '@cloudcafe/contracts';
import { type LabPaths, labPaths, readLabState } from '@cloudcafe/local-platform';
import type { Target } from '../target.js';

/** The k6 scenarios in load-tests/src/scenarios, by the name `cloudcafe load` takes. */
export const LOAD_SCENARIOS = [
  'smoke',
  'browse',
  'checkout',
  'morning-rush',
  'flash-sale',
  'cold-start-avalanche',
  'soak',
] as const;
export type LoadScenario = (typeof LOAD_SCENARIOS)[number];

export function isLoadScenario(name: string): name is LoadScenario {
  return (LOAD_SCENARIOS as readonly string[]).includes(name);
}

export function scenarioScript(scenario: LoadScenario, paths: LabPaths = labPaths()): string {
  return join(paths.root, 'load-tests', 'src', 'scenarios', `${scenario}.ts`);
}

/** True for http(s) URLs on 127.0.0.0/8, localhost or [::1]. */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** Load goes to this machine only, unless the caller opted in to a deployed lab. */
function assertLoopback(baseUrl: string, allowRemote: boolean | undefined): void {
  if (!isLoopbackUrl(baseUrl) && !allowRemote) {
    throw new Error(
      `refusing to load ${baseUrl}: not a loopback address. Load goes to the local lab only; pass --allow-remote to target a deployed lab on purpose`,
    );
  }
}

export interface LoadEnvironmentOptions {
  /** Default: the running lab's gateway from `.cloudcafe/lab.json`. */
  readonly baseUrl?: string;
  /**
   * A run's target: its gateway and admin token, every service's health checked; nothing of
   * `.cloudcafe/` is read. Wins over `baseUrl` and the lab.
   */
  readonly target?: Target;
  /** Deployed labs are a later concern: anything not on loopback needs this explicit opt-in. */
  readonly allowRemote?: boolean;
  /** Tags the run's customers and idempotency keys. */
  readonly runTag: string;
  /** RATE, DURATION, VUS, STOCK, … passed through as they are (the scripts validate them). */
  readonly knobs?: Readonly<Record<string, string | number | undefined>>;
  /** `{metric: [expr]}` appended to the scenario's own thresholds (tighten only). */
  readonly extraThresholds?: Readonly<Record<string, readonly string[]>>;
  readonly paths?: LabPaths;
}

/**
 * The `__ENV` a scenario needs: BASE_URL, ADMIN_TOKEN, SERVICES (whose health setup() checks),
 * RUN_TAG and the knobs. Throws with a message a user can act on when the lab is down or the
 * target is not loopback.
 */
export function loadEnvironment(options: LoadEnvironmentOptions): Record<string, string> {
  if (options.target) return targetEnvironment(options.target, options);
  const paths = options.paths ?? labPaths();
  const state = readLabState(paths);
  const baseUrl = options.baseUrl ?? state?.gateway;
  if (!baseUrl)
    throw new Error('the lab is not up (no lab.json): run `npx cloudcafe lab up` first, or pass --base-url');
  assertLoopback(baseUrl, options.allowRemote);
  const env: Record<string, string> = { BASE_URL: baseUrl.replace(/\/+$/, ''), RUN_TAG: options.runTag };
  if (options.allowRemote) env.ALLOW_REMOTE = 'true';
  if (state) {
    try {
      env.ADMIN_TOKEN = readFileSync(state.adminTokenFile, 'utf8').trim();
    } catch {
      // Scenarios that need the token fail in setup with a message naming ADMIN_TOKEN.
    }
    env.SERVICES = state.services.map((s) => new URL(s.health).pathname.split('/')[2] ?? s.name).join(',');
  } else if (process.env.ADMIN_TOKEN) {
    env.ADMIN_TOKEN = process.env.ADMIN_TOKEN;
  }
  return withKnobs(env, options);
}

/** The `__ENV` for a run's target: its entry and token, the health of every service checked. */
function targetEnvironment(target: Target, options: LoadEnvironmentOptions): Record<string, string> {
  const baseUrl = target.gateway();
  assertLoopback(baseUrl, options.allowRemote);
  const env: Record<string, string> = {
    BASE_URL: baseUrl.replace(/\/+$/, ''),
    RUN_TAG: options.runTag,
    ADMIN_TOKEN: target.adminToken(),
    SERVICES: Object.values(SERVICE_REGISTRY)
      .map((s) => s.segment)
      .join(','),
  };
  if (options.allowRemote) env.ALLOW_REMOTE = 'true';
  return withKnobs(env, options);
}

/** Adds the knobs and extra thresholds to a scenario's environment. */
function withKnobs(env: Record<string, string>, options: LoadEnvironmentOptions): Record<string, string> {
  for (const [k, v] of Object.entries(options.knobs ?? {})) if (v !== undefined) env[k] = String(v);
  if (options.extraThresholds && Object.keys(options.extraThresholds).length > 0) {
    env.EXTRA_THRESHOLDS = JSON.stringify(options.extraThresholds);
  }
  return env;
}
