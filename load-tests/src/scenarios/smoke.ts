/**
 * smoke — every endpoint once, fast: health of every service, menu and catalogue reads, an
 * order placed, read, listed and followed to a terminal status, a cancel of a terminal order, and
 * the admin token checked on a stress listing. One VU, one iteration. Runs in npm test.
 */
import { check, group } from 'k6';
import type { Options } from 'k6/options';
import {
  admin,
  awaitTerminal,
  basket,
  customer,
  expectStatus,
  get,
  loadShop,
  placeOrder,
  post,
  read,
  requireHealthyLab,
  type ShopData,
} from '../lib/api.ts';
import { CONFIG, withExtraThresholds } from '../lib/config.ts';
import { profileScenario } from '../lib/profiles.ts';
import { SLO, thresholds } from '../lib/slo.ts';

export const options: Options = {
  scenarios: {
    smoke: profileScenario('smoke', { rate: 1, durationSeconds: 60, vus: 1, preAllocatedVus: 1 }),
  },
  thresholds: withExtraThresholds(
    thresholds(SLO.checkoutAccept, SLO.browse, {
      cloudcafe_errors: ['rate==0'],
      checks: ['rate==1'],
      cloudcafe_orders_unresolved: ['count==0'],
    }),
  ),
};

export function setup(): ShopData {
  requireHealthyLab();
  return loadShop();
}

export default function smoke(shop: ShopData): void {
  group('health', () => {
    for (const svc of CONFIG.services) expectStatus(get(`/api/${svc}/health`, 'health'), [200], 'health');
  });
  group('browse', () => {
    const item = shop.menu[0];
    const sku = shop.catalogue[0];
    read('/api/menu/items?limit=20', 'menu-list');
    read('/api/menu/categories', 'menu-categories');
    if (item) read(`/api/menu/items/${item.id}`, 'menu-item');
    read('/api/inventory?limit=25', 'catalogue-page');
    if (sku) read(`/api/inventory/${sku.sku}`, 'catalogue-item');
  });
  group('checkout', () => {
    const who = customer();
    const placed = placeOrder(who, basket(shop));
    if (!placed.orderId) return;
    const acceptedAt = Date.now();
    expectStatus(get(`/api/orders/${placed.orderId}`, 'get-order'), [200], 'get-order');
    // Listing orders is an operator's view: it needs the admin token.
    expectStatus(admin('GET', `/api/orders?customerId=${who}&limit=5`), [200], 'list-orders');
    const status = awaitTerminal(placed.orderId, acceptedAt, 30);
    check(status, { 'order reached a terminal status': (s) => s !== undefined });
  });
  group('cancel', () => {
    const placed = placeOrder(customer(), basket(shop));
    if (!placed.orderId) return;
    // Cancelled once the order is terminal, so the answer is deterministic (409 not cancellable).
    // A cancel racing the outbox relay right after the 202 is a concurrency case, not a smoke one.
    awaitTerminal(placed.orderId, Date.now(), 30);
    const res = post(`/api/orders/${placed.orderId}/cancel`, {}, 'cancel-order');
    expectStatus(res, [200, 409], 'cancel-order');
  });
  group('admin', () => {
    expectStatus(admin('GET', '/api/orders/stress'), [200], 'admin-stress-list');
    expectStatus(admin('GET', '/api/menu/admin/flags'), [200], 'admin-flags');
  });
}
