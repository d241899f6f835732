/**
 * soak — long and gentle: browsing and checkouts at a low constant rate for DURATION (10 min by
 * default, at most 2 h), to surface leaks, slow queues and sweepers that only bite over time.
 * SLO: accept p99 < 500 ms, browse p99 < 200 ms, errors < 1 %, no order left unresolved.
 */
import type { Options } from 'k6/options';
import { browseOnce, loadShop, requireHealthyLab, type ShopData } from '../lib/api.ts';
import { withExtraThresholds } from '../lib/config.ts';
import { knobs, profileScenario } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';
import { journey } from './checkout.ts';

const k = knobs({ rate: 6, durationSeconds: 600, vus: 40 });

export const options: Options = {
  scenarios: { soak: profileScenario('soak', k) },
  thresholds: withExtraThresholds(
    thresholds(SLO.checkoutAccept, SLO.browse, SLO.errors, { cloudcafe_orders_unresolved: ['count==0'] }),
  ),
};

export function setup(): ShopData {
  requireHealthyLab();
  return loadShop();
}

export default function soak(shop: ShopData): void {
  // Two visitors in three only browse; the third buys.
  if (Math.random() < 0.67) browseOnce(shop);
  else journey(shop);
}
