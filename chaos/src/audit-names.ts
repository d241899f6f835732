/** The business invariants the auditor checks (audit.ts), named once for schema and auditor alike. */
export const INVARIANTS = [
  'no-lost-orders',
  'no-oversold-sku',
  'stock-matches-orders',
  'no-double-charge',
  'no-charge-without-order',
  'no-system-cancellations',
  'loyalty-reconciles',
  'analytics-reconciles',
  'receipts-present',
] as const;
export type Invariant = (typeof INVARIANTS)[number];
