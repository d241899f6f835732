import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LabPaths, labPaths, readLabState } from '@cloudcafe/local-platform';

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

export interface LoadEnvironmentOptions {
  /** Default: the running lab's gateway from `.cloudcafe/lab.json`. */
  readonly baseUrl?: string;
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
  const paths = options.paths ?? labPaths();
  const state = readLabState(paths);
  const baseUrl = options.baseUrl ?? state?.gateway;
  if (!baseUrl)
    throw new Error('the lab is not up (no lab.json): run `npx cloudcafe lab up` first, or pass --base-url');
  if (!isLoopbackUrl(baseUrl) && !options.allowRemote) {
    throw new Error(
      `refusing to load ${baseUrl}: not a loopback address. Load goes to the local lab only; pass --allow-remote to target a deployed lab on purpose`,
    );
  }
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
  for (const [k, v] of Object.entries(options.knobs ?? {})) if (v !== undefined) env[k] = String(v);
  if (options.extraThresholds && Object.keys(options.extraThresholds).length > 0) {
    env.EXTRA_THRESHOLDS = JSON.stringify(options.extraThresholds);
  }
  return env;
}
