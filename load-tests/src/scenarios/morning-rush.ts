/**
 * morning-rush — the opening hour compressed into DURATION: a quiet start, the 8 o'clock wall
 * (4× the base rate), a long busy plateau and the tail-off. At 40 % of the run a second scenario
 * starts the order service's morning-rush stress (corporate bulk orders burning its CPU) with
 * the admin token, so the peak meets a busy order service — as it does on a real Monday.
 * SLO: accept p99 < 500 ms, errors < 1 %.
 */
import type { Options } from 'k6/options';
import { loadShop, requireHealthyLab, type ShopData, triggerStress } from '../lib/api.ts';
import { adminToken, withExtraThresholds } from '../lib/config.ts';
import { knobs } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';
import { journey } from './checkout.ts';

const k = knobs({ rate: 4, durationSeconds: 60, vus: 150 });
const at = (share: number): string => `${Math.max(1, Math.round(k.durationSeconds * share))}s`;

export const options: Options = {
  scenarios: {
    customers: {
      executor: 'ramping-arrival-rate',
      exec: 'customers',
      startRate: Math.max(1, Math.round(k.rate / 4)),
      timeUnit: '1s',
      stages: [
        { target: k.rate, duration: at(0.15) },
        { target: k.rate * 4, duration: at(0.1) },
        { target: k.rate * 4, duration: at(0.35) },
        { target: k.rate * 2, duration: at(0.2) },
        { target: Math.max(1, Math.round(k.rate / 2)), duration: at(0.2) },
      ],
      preAllocatedVUs: Math.min(k.vus, k.rate * 4),
      maxVUs: k.vus,
      gracefulStop: '30s',
    },
    'bulk-orders': {
      executor: 'per-vu-iterations',
      exec: 'bulkOrders',
      vus: 1,
      iterations: 1,
      startTime: at(0.4),
      maxDuration: '30s',
    },
  },
  thresholds: withExtraThresholds(
    thresholds(SLO.checkoutAccept, SLO.errors, {
      'cloudcafe_stress_triggered{scenario:morning-rush}': ['count==1'],
    }),
  ),
};

export function setup(): ShopData {
  adminToken(); // fail before any load if the stress trigger could not be sent
  requireHealthyLab();
  return loadShop();
}

export function customers(shop: ShopData): void {
  journey(shop);
}

export function bulkOrders(): void {
  triggerStress('orders', 'morning-rush', {
    durationSeconds: Math.max(5, Math.round(k.durationSeconds * 0.4)),
  });
}
