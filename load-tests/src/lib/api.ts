import { check, fail, sleep } from 'k6';
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { adminToken, CONFIG } from './config.ts';
import { METRICS } from './metrics.ts';

/** The SKU flash sales fight over (seeded by the inventory service). */
export const FLASH_SALE_SKU = 'LTD-GEISHA-001';
/** Baskets draw only from SKUs with at least this many units available. */
const MIN_BASKET_STOCK = 50;
export const TERMINAL_STATUSES = ['confirmed', 'payment_failed', 'cancelled'] as const;

type Res = RefinedResponse<ResponseType | undefined>;
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

const url = (path: string): string => `${CONFIG.baseUrl}${path}`;

function adminHeaders(): Record<string, string> {
  return { ...JSON_HEADERS, authorization: `Bearer ${adminToken()}` };
}

/** Counts a response in the shared error rate and the 5xx counter; returns whether it was expected. */
export function expectStatus(res: Res, expected: readonly number[], name: string): boolean {
  const ok = expected.includes(res.status);
  if (res.status >= 500 || res.status === 0) METRICS.http5xx.add(1, { name, status: String(res.status) });
  METRICS.errors.add(!ok, { name });
  check(res, { [`${name}: ${expected.join('|')}`]: () => ok });
  return ok;
}

function json<T>(res: Res): T | undefined {
  try {
    return res.json() as T;
  } catch {
    return undefined;
  }
}

/**
 * setup() guard: every service answers its health through the gateway, or the run does not
 * start (load on a half-up lab measures the outage, not the system).
 */
export function requireHealthyLab(): void {
  const unhealthy: string[] = [];
  for (const svc of CONFIG.services) {
    const res = http.get(url(`/api/${svc}/health`), { tags: { name: 'health' }, timeout: '5s' });
    if (res.status !== 200) unhealthy.push(`${svc} (${res.status || res.error})`);
  }
  if (unhealthy.length > 0) {
    fail(`the lab at ${CONFIG.baseUrl} is not healthy: ${unhealthy.join(', ')}; refusing to start`);
  }
}

export interface MenuItem {
  readonly id: string;
  readonly name: string;
  readonly category: string;
}
export interface CatalogueItem {
  readonly sku: string;
  readonly category: string;
  readonly price: number;
  readonly available: number;
}

/** What setup() hands to every VU: the real menu and catalogue, read once. */
export interface ShopData {
  readonly menu: readonly MenuItem[];
  readonly categories: readonly string[];
  readonly catalogue: readonly CatalogueItem[];
}

/** Reads the menu and the whole catalogue (bounded pages), leaving the flash-sale SKU out of baskets. */
export function loadShop(): ShopData {
  const menuRes = http.get(url('/api/menu/items?limit=100'), { tags: { name: 'setup' } });
  const menu = json<{ items: MenuItem[] }>(menuRes)?.items ?? [];
  const catRes = http.get(url('/api/menu/categories'), { tags: { name: 'setup' } });
  const categories = (json<{ categories: { id: string }[] }>(catRes)?.categories ?? []).map((c) => c.id);
  const catalogue: CatalogueItem[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const q = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const body = json<{ items: CatalogueItem[]; nextCursor?: string }>(
      http.get(url(`/api/inventory?limit=100${q}`), { tags: { name: 'setup' } }),
    );
    catalogue.push(...(body?.items ?? []));
    cursor = body?.nextCursor;
    if (!cursor) break;
  }
  // Only SKUs with plenty left: a basket that hits a SKU a flash sale (or an earlier run) nearly
  // emptied would turn ordinary checkout load into 409s and trip the error threshold.
  const sellable = catalogue.filter((c) => c.sku !== FLASH_SALE_SKU && c.available >= MIN_BASKET_STOCK);
  if (menu.length === 0 || sellable.length === 0) {
    fail(`setup: no menu (${menu.length} items) or no stocked catalogue (${sellable.length} SKUs)`);
  }
  return { menu, categories, catalogue: sellable };
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** A customer id from a pool of returning customers (with some first-timers), tagged by run. */
export function customer(): string {
  const returning = Math.random() < 0.8;
  const n = returning ? Math.floor(Math.random() * 500) : 1000 + __VU * 10_000 + __ITER;
  return `${CONFIG.runTag}-cust-${n}`;
}

/**
 * A morning basket: a drink (most often one of the espresso bar), sometimes a second drink,
 * often a pastry or food, at most a few units a line — the shape a café's till sees.
 */
export function basket(shop: ShopData): { sku: string; quantity: number }[] {
  const drinks = shop.catalogue.filter((c) => ['espresso', 'brewed', 'tea', 'other'].includes(c.category));
  const food = shop.catalogue.filter((c) => ['bakery', 'food'].includes(c.category));
  const lines = new Map<string, number>();
  const add = (item: CatalogueItem | undefined, qty: number) => {
    if (item) lines.set(item.sku, (lines.get(item.sku) ?? 0) + qty);
  };
  add(drinks.length > 0 ? pick(drinks) : pick(shop.catalogue), Math.random() < 0.85 ? 1 : 2);
  if (Math.random() < 0.25 && drinks.length > 0) add(pick(drinks), 1);
  if (Math.random() < 0.45 && food.length > 0) add(pick(food), 1);
  return [...lines].map(([sku, quantity]) => ({ sku, quantity }));
}

/** One read a customer's app makes while browsing, chosen at random. */
export function browseOnce(shop: ShopData): void {
  // READS=menu keeps to the menu's reads (the bench compares its cache on and off).
  const roll = Math.random() * (__ENV.READS === 'menu' ? 0.75 : 1);
  let res: Res;
  if (roll < 0.3 && shop.categories.length > 0) {
    res = http.get(url(`/api/menu/items?category=${pick(shop.categories)}`), {
      tags: { name: 'menu-by-category' },
    });
  } else if (roll < 0.55) {
    res = http.get(url(`/api/menu/items/${pick(shop.menu).id}`), { tags: { name: 'menu-item' } });
  } else if (roll < 0.65) {
    const word = (pick(shop.menu).name.split(' ')[0] ?? 'latte').replace(/[^A-Za-z]/g, '') || 'latte';
    res = http.get(url(`/api/menu/items?q=${word}`), { tags: { name: 'menu-search' } });
  } else if (roll < 0.75) {
    res = http.get(url('/api/menu/categories'), { tags: { name: 'menu-categories' } });
  } else if (roll < 0.85) {
    res = http.get(url('/api/inventory?limit=25'), { tags: { name: 'catalogue-page' } });
  } else {
    res = http.get(url(`/api/inventory/${pick(shop.catalogue).sku}`), { tags: { name: 'catalogue-item' } });
  }
  METRICS.browse.add(res.timings.duration);
  // The cache's effect is measured, not assumed: the bench checks the bypass flag really bypassed.
  const cache = res.headers['X-Cache'];
  if (cache !== undefined) METRICS.menuCacheHit.add(cache === 'HIT');
  expectStatus(res, [200], 'browse');
}

export interface Placed {
  readonly res: Res;
  readonly orderId: string | undefined;
  readonly outOfStock: boolean;
  /** A 429 CAFE_ERR_RATE_LIMITED: inventory shed the reservation, nothing was reserved. */
  readonly shed: boolean;
}

let sequence = 0;

/**
 * POST /api/orders with an Idempotency-Key. A 202 is recorded as an acknowledgement line on the
 * console (`CLOUDCAFE_ACK …`), which the runner collects into acknowledged-orders.json: k6
 * cannot write files from a VU, and a console line is out the moment the 202 is seen, so the
 * record survives an aborted run.
 */
export function placeOrder(
  customerId: string,
  items: readonly { sku: string; quantity: number }[],
  /**
   * Whether a 429 (load shed, nothing reserved) is a clean answer here. In a flash sale it is:
   * the waiting room turning buyers away while the stock lane is full. In checkout it counts as
   * an error, because shedding ordinary traffic is a missed SLO.
   */
  { shedIsClean = false }: { shedIsClean?: boolean } = {},
): Placed {
  sequence++;
  const key = `${CONFIG.runTag}-${__VU}-${__ITER}-${sequence}`;
  const res = http.post(url('/api/orders'), JSON.stringify({ customerId, items }), {
    headers: { ...JSON_HEADERS, 'idempotency-key': key },
    tags: { name: 'place-order' },
    timeout: '30s',
  });
  METRICS.checkoutAccept.add(res.timings.duration);
  const code = res.status === 202 ? undefined : json<{ error?: { code?: string } }>(res)?.error?.code;
  const outOfStock = res.status === 409 && code === 'CAFE_ERR_OUT_OF_STOCK';
  const shed = res.status === 429 && code === 'CAFE_ERR_RATE_LIMITED';
  const expected = [202, ...(outOfStock ? [409] : []), ...(shed && shedIsClean ? [429] : [])];
  expectStatus(res, expected, 'place-order');
  if (outOfStock) METRICS.outOfStock.add(1);
  if (shed) METRICS.shed.add(1);
  if (outOfStock || (shed && shedIsClean)) METRICS.refused.add(1);
  let orderId: string | undefined;
  if (res.status === 202) {
    orderId = json<{ orderId?: string }>(res)?.orderId;
    if (orderId) {
      METRICS.ordersAccepted.add(1);
      const lines = items.map((l) => `${l.sku}*${l.quantity}`).join(',');
      console.log(`CLOUDCAFE_ACK ${orderId} ${customerId} ${lines} ${Date.now()} ${key}`);
    }
  }
  return { res, orderId, outOfStock, shed };
}

/** The order service's longest long poll (MAX_WAIT_SECONDS in services/order/src/model.ts). */
const WAIT_SECONDS = 20;
/** An answer this quick with no new status did not wait: the next read backs off first. */
const QUICK_MS = 250;

/**
 * Follows an order to a terminal status or the bound (seconds) with long polls:
 * `GET /api/orders/:id?waitSeconds=N` answers when the status moves on, so an order costs a
 * read per status change, not one every few hundred milliseconds. Records time-to-confirmed
 * from the acceptance, to the moment the change was answered. A read that came back at once
 * without news (a failed read, the service's long polls full) sleeps with backoff before the
 * next, so a VU never spins. A failed read is counted as an error and read again: one 5xx says
 * nothing about the order, and an order that stays unreadable ends unresolved, as one that
 * stays pending does.
 */
export function awaitTerminal(orderId: string, acceptedAt: number, maxSeconds = 30): string | undefined {
  const deadline = Date.now() + maxSeconds * 1000;
  let delay = 0.2;
  let last: string | undefined;
  for (let i = 0; i < 200 && Date.now() < deadline; i++) {
    const wait = Math.max(0, Math.min(WAIT_SECONDS, Math.floor((deadline - Date.now()) / 1000)));
    const asked = Date.now();
    const res = http.get(url(`/api/orders/${orderId}?waitSeconds=${wait}`), {
      // long_poll: the report leaves these out of its latency percentiles (they wait on
      // purpose; chaos/src/chart-series.ts reads the tag, as k6's url tag becomes the name)
      tags: { name: 'get-order', long_poll: String(wait > 0) },
      timeout: `${wait + 10}s`,
    });
    const read = expectStatus(res, [200], 'get-order');
    const status = read ? json<{ status?: string }>(res)?.status : undefined;
    if (status && (TERMINAL_STATUSES as readonly string[]).includes(status)) {
      METRICS.ordersTerminal.add(1, { status });
      if (status === 'confirmed') METRICS.timeToConfirmed.add(Date.now() - acceptedAt);
      return status;
    }
    const news = status !== undefined && status !== last;
    last = status ?? last;
    if (!news && Date.now() - asked < QUICK_MS) {
      sleep(delay);
      delay = Math.min(1, delay * 1.5);
    }
  }
  METRICS.ordersUnresolved.add(1);
  return undefined;
}

/** An admin call through the gateway (stress triggers, restock, fault flags). */
export function admin(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Res {
  return http.request(method, url(path), body === undefined ? null : JSON.stringify(body), {
    headers: adminHeaders(),
    tags: { name: 'admin' },
    timeout: '30s',
  });
}

/** Starts a service's stress scenario; returns its runId (or undefined, counted as an error). */
export function triggerStress(
  svc: string,
  scenario: string,
  knobs: Record<string, number>,
): string | undefined {
  const res = admin('POST', `/api/${svc}/stress/${scenario}`, knobs);
  if (!expectStatus(res, [202], `stress-${scenario}`)) {
    console.warn(`stress ${svc}/${scenario} refused: ${res.status} ${String(res.body).slice(0, 200)}`);
    return undefined;
  }
  METRICS.stressTriggered.add(1, { scenario });
  return json<{ runId?: string }>(res)?.runId;
}

export const get = (path: string, name: string): Res => http.get(url(path), { tags: { name } });

/** A browse read: timed into cloudcafe_browse_duration and checked for a 200. */
export function read(path: string, name: string): Res {
  const res = http.get(url(path), { tags: { name } });
  METRICS.browse.add(res.timings.duration);
  expectStatus(res, [200], 'browse');
  return res;
}
export const post = (path: string, body: unknown, name: string): Res =>
  http.post(url(path), JSON.stringify(body), { headers: JSON_HEADERS, tags: { name } });
