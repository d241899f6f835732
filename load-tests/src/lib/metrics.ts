import { Counter, Rate, Trend } from 'k6/metrics';

/**
 * Every custom metric, prefixed `cloudcafe_` so they stand apart from k6's built-ins in the
 * summary and in the live REST API the orchestrator reads. Created once here: k6 wants metrics
 * defined at init, and one definition keeps names from drifting between scenarios.
 */
export const METRICS = {
  /** Share of requests with an answer the scenario did not expect (includes every 5xx). */
  errors: new Rate('cloudcafe_errors'),
  /** Every 5xx answer. The flash sale allows none. */
  http5xx: new Counter('cloudcafe_http_5xx'),
  /** Latency of menu and catalogue reads. */
  browse: new Trend('cloudcafe_browse_duration', true),
  /** Share of menu reads the menu answered from its Redis cache (`X-Cache: HIT`). */
  menuCacheHit: new Rate('cloudcafe_menu_cache_hit'),
  /** Latency of POST /api/orders up to its answer (202 or a clean 409). */
  checkoutAccept: new Trend('cloudcafe_checkout_accept_duration', true),
  /** From the 202 to the order seen `confirmed`. */
  timeToConfirmed: new Trend('cloudcafe_time_to_confirmed', true),
  /** Orders acknowledged with a 202: each one is written to acknowledged-orders.json. */
  ordersAccepted: new Counter('cloudcafe_orders_accepted'),
  /** Orders seen in a terminal state, tagged by `status`. */
  ordersTerminal: new Counter('cloudcafe_orders_terminal'),
  /** Orders still not terminal when the poll's bound ran out. */
  ordersUnresolved: new Counter('cloudcafe_orders_unresolved'),
  /** Clean 409 CAFE_ERR_OUT_OF_STOCK answers. */
  outOfStock: new Counter('cloudcafe_orders_out_of_stock'),
  /** 429 CAFE_ERR_RATE_LIMITED answers: inventory shed the reservation before writing anything. */
  shed: new Counter('cloudcafe_orders_shed'),
  /** Buyers turned away cleanly, either way: a 409 out of stock or a 429 shed. */
  refused: new Counter('cloudcafe_orders_refused'),
  /** Flash sale: units acknowledged, and units acknowledged beyond the stock put on sale. */
  flashSold: new Counter('cloudcafe_flash_sold'),
  flashOversold: new Counter('cloudcafe_flash_oversold'),
  /** Stress runs this scenario started on a service (mid-run triggers). */
  stressTriggered: new Counter('cloudcafe_stress_triggered'),
} as const;
