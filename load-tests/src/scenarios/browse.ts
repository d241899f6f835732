/**
 * browse — menu and catalogue reads at an open arrival rate (PROFILE: average by default).
 * SLO: browse p99 < 200 ms, errors < 1 %.
 */
import type { Options } from 'k6/options';
import { browseOnce, loadShop, requireHealthyLab, type ShopData } from '../lib/api.ts';
import { withExtraThresholds } from '../lib/config.ts';
import { knobs, profileFromEnv, profileScenario } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';

export const options: Options = {
  scenarios: {
    browse: profileScenario(profileFromEnv('average'), knobs({ rate: 20, durationSeconds: 30, vus: 50 })),
  },
  thresholds: withExtraThresholds(thresholds(SLO.browse, SLO.errors)),
};

export function setup(): ShopData {
  requireHealthyLab();
  return loadShop();
}

export default function browse(shop: ShopData): void {
  browseOnce(shop);
}
