/**
 * flash-sale — one limited SKU (LTD-GEISHA-001), many buyers at a fixed arrival rate. setup()
 * tops the SKU up to exactly STOCK units through the admin restock route; ATTEMPTS buyers (each
 * a distinct customer, one unit each) arrive at RATE per second. Every answer must be a 202
 * (sold), a clean 409 CAFE_ERR_OUT_OF_STOCK, or a clean 429 CAFE_ERR_RATE_LIMITED (more buyers
 * a second than the stock lane serves: shed before anything was reserved, told to come back):
 * units sold ≤ STOCK, zero 5xx. teardown() reads
 * the SKU back and counts what the server booked beyond the stock. Every 202 is an
 * acknowledgement line collected into reports/<run-id>/acknowledged-orders.json, and every
 * attempt a `CLOUDCAFE_FLASH <sentMs> <answeredMs> <status>` line (the sale's timeline).
 */
import { fail } from 'k6';
import type { Options } from 'k6/options';
import { admin, FLASH_SALE_SKU, get, placeOrder, requireHealthyLab } from '../lib/api.ts';
import { adminToken, CONFIG, intKnob, withExtraThresholds } from '../lib/config.ts';
import { METRICS } from '../lib/metrics.ts';
import { SLO, thresholds } from '../lib/slo.ts';

/** The lot on sale: the seeded limited edition, or a fresh SKU (created in setup) for a clean, repeatable sale. */
const SKU = __ENV.SKU || FLASH_SALE_SKU;
if (!/^[A-Z0-9][A-Z0-9-]{0,63}$/.test(SKU))
  throw new Error(`cloudcafe load: SKU must be an upper-case SKU, got "${SKU}"`);
const STOCK = intKnob('STOCK', 500, 1, 100_000);
const ATTEMPTS = intKnob('ATTEMPTS', 20_000, 1, 200_000);
const RATE = intKnob('RATE', 400, 1, 5000);
const VUS = intKnob('VUS', 300, 1, 2000);
const seconds = Math.max(1, Math.ceil(ATTEMPTS / RATE));

export const options: Options = {
  scenarios: {
    'flash-sale': {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: `${seconds}s`,
      preAllocatedVUs: Math.min(VUS, RATE),
      maxVUs: VUS,
      gracefulStop: '30s',
    },
  },
  thresholds: withExtraThresholds(
    thresholds(SLO.errors, {
      // Zero 5xx, and an oversold unit stops the sale at once: nothing after it can be trusted.
      cloudcafe_http_5xx: [{ threshold: 'count==0', abortOnFail: true }],
      cloudcafe_flash_sold: [{ threshold: `count<=${STOCK}`, abortOnFail: true }],
      cloudcafe_flash_oversold: ['count==0'],
      // When buyers outnumber units, the rest are turned away cleanly: sold out (409), or shed
      // while the stock lane was full (429). Which of the two depends on the machine's speed.
      ...(ATTEMPTS > STOCK * 2 && { cloudcafe_orders_refused: ['count>0'] }),
    }),
  ),
};

interface Item {
  available: number;
  reserved: number;
  sold: number;
}

export function setup(): { before: Item } {
  adminToken();
  requireHealthyLab();
  const found = get(`/api/inventory/${SKU}`, 'setup');
  if (found.status === 404 && SKU !== FLASH_SALE_SKU) {
    const res = admin('PUT', `/api/inventory/${SKU}`, {
      name: `Flash-sale lot ${SKU}`,
      category: 'limited',
      price: 1800,
    });
    if (res.status !== 200) fail(`creating ${SKU} failed: ${res.status} ${String(res.body)}`);
  } else if (found.status !== 200) {
    fail(`reading ${SKU} failed: ${found.status}`);
  }
  const current = get(`/api/inventory/${SKU}`, 'setup').json() as unknown as Item;
  if (current.available > STOCK) {
    fail(
      `${SKU} already has ${current.available} units available, more than STOCK=${STOCK}; run with --stock ${current.available} or more`,
    );
  }
  // Holds of an earlier run may still expire or commit while we top up: re-read and top up
  // again (bounded) until exactly STOCK units are on the shelf.
  let before = current;
  for (let i = 0; i < 5 && before.available < STOCK; i++) {
    const res = admin('POST', `/api/inventory/${SKU}/restock`, {
      quantity: STOCK - before.available,
    });
    if (res.status !== 200) fail(`restock of ${SKU} failed: ${res.status} ${String(res.body)}`);
    before = get(`/api/inventory/${SKU}`, 'setup').json() as unknown as Item;
  }
  if (before.available !== STOCK) fail(`${SKU}: ${before.available} available after restock, want ${STOCK}`);
  console.warn(`flash sale: ${STOCK} units of ${SKU}, ${ATTEMPTS} attempts at ${RATE}/s`);
  return { before };
}

export default function buyer(): void {
  const sentAt = Date.now();
  const placed = placeOrder(`${CONFIG.runTag}-fan-${__VU}-${__ITER}`, [{ sku: SKU, quantity: 1 }], {
    shedIsClean: true,
  });
  if (placed.orderId) METRICS.flashSold.add(1);
  // The sale's timeline (when the last unit went, what was shed before it): a summary has no
  // timestamps, so each attempt is one console line, which the bench reads back.
  console.log(`CLOUDCAFE_FLASH ${sentAt} ${Date.now()} ${placed.res.status}`);
}

export function teardown(data: { before: Item }): void {
  const after = get(`/api/inventory/${SKU}`, 'teardown').json() as unknown as Item;
  // What the server booked (held or sold) during the sale, against what was on the shelf.
  const booked = after.reserved + after.sold - (data.before.reserved + data.before.sold);
  console.warn(
    `flash sale: before ${JSON.stringify(data.before)} after ${JSON.stringify(after)}; booked ${booked} of ${STOCK}`,
  );
  if (booked > data.before.available) METRICS.flashOversold.add(booked - data.before.available);
}
