/**
 * cold-start-avalanche — Black-Friday midnight: setup() starts the payment service's cold-start
 * stress (every warm Lambda instance retired, a burst of payments on fresh ones) and the
 * checkout burst begins at once, so real orders queue behind the cold starts. Accept latency
 * must hold (the order service answers before payment); time-to-confirmed shows the cold-start
 * cost. teardown() waits (bounded) for the stress run and prints its percentiles.
 * SLO: accept p99 < 500 ms, errors < 1 %.
 */
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { admin, loadShop, requireHealthyLab, type ShopData, triggerStress } from '../lib/api.ts';
import { adminToken, intKnob, withExtraThresholds } from '../lib/config.ts';
import { knobs } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';
import { journey } from './checkout.ts';

const k = knobs({ rate: 10, durationSeconds: 20, vus: 200 });
const PAYMENTS = intKnob('COLD_START_PAYMENTS', 60, 1, 1000);

export const options: Options = {
  scenarios: {
    burst: {
      executor: 'ramping-arrival-rate',
      startRate: k.rate,
      timeUnit: '1s',
      stages: [
        { target: k.rate * 3, duration: '3s' },
        { target: k.rate * 3, duration: `${Math.max(1, k.durationSeconds - 6)}s` },
        { target: 0, duration: '3s' },
      ],
      preAllocatedVUs: Math.min(k.vus, k.rate * 3),
      maxVUs: k.vus,
      gracefulStop: '45s',
    },
  },
  thresholds: withExtraThresholds(
    thresholds(SLO.checkoutAccept, SLO.errors, {
      'cloudcafe_stress_triggered{scenario:cold-start}': ['count==1'],
    }),
  ),
};

export function setup(): { shop: ShopData; runId: string | undefined } {
  adminToken();
  requireHealthyLab();
  const shop = loadShop();
  const runId = triggerStress('payments', 'cold-start', { payments: PAYMENTS, timeoutSeconds: 120 });
  return { shop, runId };
}

export default function burst(data: { shop: ShopData }): void {
  journey(data.shop);
}

export function teardown(data: { runId: string | undefined }): void {
  if (!data.runId) return;
  for (let i = 0; i < 60; i++) {
    const res = admin('GET', `/api/payments/stress/cold-start/runs/${data.runId}`);
    const run = res.json() as { state?: string; result?: unknown };
    if (run.state !== 'running') {
      console.warn(`cold-start stress ${data.runId}: ${run.state} ${JSON.stringify(run.result ?? {})}`);
      return;
    }
    sleep(1);
  }
}
