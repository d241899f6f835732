import { randomUUID } from 'node:crypto';
import { defineStressScenario } from '@cloudcafe/kit';
import pg from 'pg';
import Type from 'typebox';

/**
 * Stress `query-storm`: end-of-quarter reporting. `concurrency` connections run the report
 * queries below round-robin until the duration ends, and every query's timings are reported.
 * The local warehouse holds hours of events, not a quarter, so each report first stretches
 * the facts over `scale` copies shifted a day apart (`generate_series`) — the planner does
 * the same sorts, hashes and window passes it would on a quarter's rows.
 */
const REPORTS = {
  'revenue-trend': `
    WITH w AS (
      SELECT window_start + (g * interval '1 day') AS start, revenue_cents, order_count
        FROM analytics_windows CROSS JOIN generate_series(0, $1::int - 1) g)
    SELECT start, revenue_cents,
           sum(revenue_cents) OVER (ORDER BY start) AS running_revenue,
           avg(revenue_cents) OVER (ORDER BY start ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS hourly_avg,
           revenue_cents - lag(revenue_cents) OVER (ORDER BY start) AS change,
           rank() OVER (PARTITION BY date_trunc('day', start) ORDER BY revenue_cents DESC) AS day_rank
      FROM w ORDER BY start`,
  'product-mix': `
    WITH lines AS (
      SELECT date_trunc('hour', e.occurred_at + (g * interval '1 day')) AS hour, l->>'sku' AS sku,
             (l->>'quantity')::int AS quantity, (l->>'quantity')::int * (l->>'unitPriceCents')::bigint AS revenue
        FROM analytics_events e CROSS JOIN generate_series(0, $1::int - 1) g
             CROSS JOIN LATERAL jsonb_array_elements(e.items) l
       WHERE e.type = 'OrderConfirmed')
    SELECT hour, sku, sum(quantity) AS quantity, sum(revenue) AS revenue,
           rank() OVER (PARTITION BY hour ORDER BY sum(revenue) DESC) AS rank_in_hour,
           percent_rank() OVER (ORDER BY sum(revenue)) AS pct
      FROM lines GROUP BY hour, sku ORDER BY hour, rank_in_hour`,
  'customer-cohorts': `
    WITH orders AS (
      SELECT customer_id || '-' || g AS customer, occurred_at + (g * interval '1 day') AS at, total_cents
        FROM analytics_events CROSS JOIN generate_series(0, $1::int - 1) g
       WHERE type = 'OrderConfirmed'),
    per_customer AS (
      SELECT customer, date_trunc('week', min(at)) AS cohort, count(*) AS orders, sum(total_cents) AS spent
        FROM orders GROUP BY customer)
    SELECT cohort, count(*) AS customers, sum(spent) AS revenue,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY spent) AS median_spend,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY orders) AS p90_orders,
           max(decile) AS deciles
      FROM (SELECT *, ntile(10) OVER (ORDER BY spent) AS decile FROM per_customer) c
     GROUP BY cohort ORDER BY cohort`,
  'basket-pairs': `
    WITH lines AS (
      SELECT e.event_id || '-' || g AS basket, l->>'sku' AS sku
        FROM analytics_events e CROSS JOIN generate_series(0, LEAST($1::int, 20) - 1) g
             CROSS JOIN LATERAL jsonb_array_elements(e.items) l
       WHERE e.type = 'OrderConfirmed')
    SELECT a.sku AS first, b.sku AS second, count(*) AS together
      FROM lines a JOIN lines b ON a.basket = b.basket AND a.sku < b.sku
     GROUP BY a.sku, b.sku ORDER BY together DESC LIMIT 50`,
} as const;
type ReportName = keyof typeof REPORTS;

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);

export function queryStorm(databaseUrl: string) {
  return defineStressScenario({
    name: 'query-storm',
    description:
      'End-of-quarter reports: concurrent window-function and aggregation queries on the warehouse',
    knobs: Type.Object(
      {
        durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
        concurrency: Type.Integer({ minimum: 1, maximum: 8, default: 4 }),
        scale: Type.Integer({
          minimum: 1,
          maximum: 200,
          default: 30,
          description: 'Days of history simulated',
        }),
        statementTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 20_000 }),
      },
      { additionalProperties: false },
    ),
    durationMs: (knobs) => knobs.durationSeconds * 1000,
    maxDurationMs: 10 * 60_000,
    run: async (knobs, ctx) => {
      // Its own pool, sized by the knob: the storm competes for the database, not for the
      // consumer's connections.
      const applicationName = `cloudcafe-query-storm-${randomUUID().slice(0, 8)}`;
      const pool = new pg.Pool({
        connectionString: databaseUrl,
        max: knobs.concurrency,
        connectionTimeoutMillis: 2000,
        statement_timeout: knobs.statementTimeoutMs,
        application_name: applicationName,
      });
      pool.on('error', () => {});
      // A cancel must stop the database work too, not only stop issuing new queries.
      const cancelRunning = async () => {
        const admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
        admin.on('error', () => {});
        try {
          await admin.connect();
          await admin.query(
            'SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
            [applicationName],
          );
        } catch (error) {
          ctx.log.warn({ err: error }, 'could not cancel running report queries');
        } finally {
          await admin.end().catch(() => {});
        }
      };
      ctx.signal.addEventListener('abort', () => void cancelRunning(), { once: true });
      const names = Object.keys(REPORTS) as ReportName[];
      const timings = new Map<ReportName, number[]>(names.map((n) => [n, []]));
      const failures = new Map<ReportName, number>();
      const rows = new Map<ReportName, number>();
      let next = 0;
      const started = Date.now();
      const worker = async () => {
        while (!ctx.signal.aborted) {
          const name = names[next++ % names.length] as ReportName;
          const t0 = performance.now();
          try {
            const result = await pool.query(REPORTS[name], [knobs.scale]);
            timings.get(name)?.push(performance.now() - t0);
            rows.set(name, result.rowCount ?? 0);
          } catch (error) {
            // Queries cut short by our own cancel at the deadline are not failures.
            if (ctx.signal.aborted) break;
            failures.set(name, (failures.get(name) ?? 0) + 1);
            ctx.log.warn({ err: error, report: name }, 'report query failed');
          }
          const done = [...timings.values()].reduce((sum, list) => sum + list.length, 0);
          ctx.progress(
            Math.min(1, (Date.now() - started) / (knobs.durationSeconds * 1000)),
            `${done} reports`,
          );
        }
      };
      try {
        await Promise.all(Array.from({ length: knobs.concurrency }, worker));
      } finally {
        await pool.end().catch(() => {});
      }
      const round = (n: number) => Math.round(n * 10) / 10;
      return {
        reports: Object.fromEntries(
          names.map((name) => {
            const sorted = [...(timings.get(name) ?? [])].sort((a, b) => a - b);
            return [
              name,
              {
                runs: sorted.length,
                failures: failures.get(name) ?? 0,
                rows: rows.get(name) ?? 0,
                p50Ms: round(percentile(sorted, 0.5)),
                p95Ms: round(percentile(sorted, 0.95)),
                maxMs: round(sorted.at(-1) ?? 0),
              },
            ];
          }),
        ),
      };
    },
  });
}
