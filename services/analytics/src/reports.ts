import type pg from 'pg';
import { GRACE_MS, WINDOW_MS } from './windows.js';

export interface WindowView {
  start: string;
  end: string;
  closed: boolean;
  orderCount: number;
  revenueCents: number;
  averageOrderValueCents: number;
  refundCount: number;
  refundedCents: number;
  lateEvents: number;
  updatedAt: string;
  topProducts: { sku: string; quantity: number; revenueCents: number }[];
}

const aov = (revenue: number, orders: number) => (orders > 0 ? Math.round(revenue / orders) : 0);

export async function watermarkOf(pool: pg.Pool): Promise<Date | undefined> {
  const rows = await pool.query<{ event_time: Date | null }>(
    'SELECT event_time FROM analytics_watermark WHERE id',
  );
  return rows.rows[0]?.event_time ?? undefined;
}

/** The windows starting in [from, to), oldest first, each with its five best-selling products. */
export async function windowsBetween(pool: pg.Pool, from: Date, to: Date): Promise<WindowView[]> {
  const [rows, watermark] = await Promise.all([
    pool.query<{
      window_start: Date;
      window_end: Date;
      order_count: number;
      revenue_cents: string;
      refund_count: number;
      refunded_cents: string;
      late_events: number;
      updated_at: Date;
      top: { sku: string; quantity: string; revenue_cents: string }[] | null;
    }>(
      `SELECT w.*, (
         SELECT json_agg(p ORDER BY p.revenue_cents DESC, p.sku) FROM (
           SELECT sku, quantity, revenue_cents FROM analytics_window_products
            WHERE window_start = w.window_start ORDER BY revenue_cents DESC, sku LIMIT 5) p
       ) AS top
         FROM analytics_windows w
        WHERE w.window_start >= $1 AND w.window_start < $2
        ORDER BY w.window_start
        LIMIT 2016`,
      [from, to],
    ),
    watermarkOf(pool),
  ]);
  return rows.rows.map((row) => {
    const revenue = Number(row.revenue_cents);
    return {
      start: row.window_start.toISOString(),
      end: row.window_end.toISOString(),
      closed:
        watermark !== undefined && row.window_start.getTime() + WINDOW_MS + GRACE_MS <= watermark.getTime(),
      orderCount: row.order_count,
      revenueCents: revenue,
      averageOrderValueCents: aov(revenue, row.order_count),
      refundCount: row.refund_count,
      refundedCents: Number(row.refunded_cents),
      lateEvents: row.late_events,
      updatedAt: row.updated_at.toISOString(),
      topProducts: (row.top ?? []).map((p) => ({
        sku: p.sku,
        quantity: Number(p.quantity),
        revenueCents: Number(p.revenue_cents),
      })),
    };
  });
}

export interface Summary {
  confirmedOrders: number;
  revenueCents: number;
  refunds: number;
  refundedCents: number;
  netRevenueCents: number;
  averageOrderValueCents: number;
  lateEvents: number;
  windows: number;
  firstWindowStart: string | null;
  lastWindowStart: string | null;
  watermark: string | null;
}

/** Totals over every window (or those in [from, to)): what the auditor reconciles. */
export async function summary(pool: pg.Pool, from?: Date, to?: Date): Promise<Summary> {
  const [rows, watermark] = await Promise.all([
    pool.query<{
      orders: string | null;
      revenue: string | null;
      refunds: string | null;
      refunded: string | null;
      late: string | null;
      windows: string;
      first: Date | null;
      last: Date | null;
    }>(
      `SELECT sum(order_count) AS orders, sum(revenue_cents) AS revenue, sum(refund_count) AS refunds,
              sum(refunded_cents) AS refunded, sum(late_events) AS late, count(*) AS windows,
              min(window_start) AS first, max(window_start) AS last
         FROM analytics_windows
        WHERE ($1::timestamptz IS NULL OR window_start >= $1) AND ($2::timestamptz IS NULL OR window_start < $2)`,
      [from ?? null, to ?? null],
    ),
    watermarkOf(pool),
  ]);
  const row = rows.rows[0];
  const orders = Number(row?.orders ?? 0);
  const revenue = Number(row?.revenue ?? 0);
  const refunded = Number(row?.refunded ?? 0);
  return {
    confirmedOrders: orders,
    revenueCents: revenue,
    refunds: Number(row?.refunds ?? 0),
    refundedCents: refunded,
    netRevenueCents: revenue - refunded,
    averageOrderValueCents: aov(revenue, orders),
    lateEvents: Number(row?.late ?? 0),
    windows: Number(row?.windows ?? 0),
    firstWindowStart: row?.first?.toISOString() ?? null,
    lastWindowStart: row?.last?.toISOString() ?? null,
    watermark: watermark?.toISOString() ?? null,
  };
}
