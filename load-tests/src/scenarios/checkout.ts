/**
 * checkout — the whole journey: a few browse reads, an order, then polling until the order is
 * terminal. Measures accept latency (cloudcafe_checkout_accept_duration) and time-to-confirmed
 * (cloudcafe_time_to_confirmed). SLO: accept p99 < 500 ms, errors < 1 %.
 */
import type { Options } from 'k6/options';
import {
  awaitTerminal,
  basket,
  browseOnce,
  customer,
  loadShop,
  placeOrder,
  requireHealthyLab,
  type ShopData,
} from '../lib/api.ts';
import { intKnob, withExtraThresholds } from '../lib/config.ts';
import { knobs, profileFromEnv, profileScenario } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';

const POLL_SECONDS = intKnob('POLL_SECONDS', 30, 1, 300);

export const options: Options = {
  scenarios: {
    checkout: {
      ...profileScenario(profileFromEnv('average'), knobs({ rate: 5, durationSeconds: 30, vus: 100 })),
      // An order accepted near the end is still followed to a terminal state (or to the poll's
      // bound, counted unresolved), not cut off uncounted by the profile's shorter stop.
      gracefulStop: `${POLL_SECONDS + 10}s`,
    },
  },
  thresholds: withExtraThresholds(thresholds(SLO.checkoutAccept, SLO.errors)),
};

export function setup(): ShopData {
  requireHealthyLab();
  return loadShop();
}

export function journey(shop: ShopData): void {
  const reads = 1 + Math.floor(Math.random() * 3);
  for (let i = 0; i < reads; i++) browseOnce(shop);
  const placed = placeOrder(customer(), basket(shop));
  if (placed.orderId) awaitTerminal(placed.orderId, Date.now(), POLL_SECONDS);
}

export default journey;
