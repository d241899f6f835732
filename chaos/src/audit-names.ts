/** The business invariants the auditor checks (audit.ts), named once for schema and auditor alike. */
export const INVARIANTS = [
  'no-lost-orders',
  'no-oversold-sku',
  'no-double-charge',
  'loyalty-reconciles',
  'analytics-reconciles',
  'receipts-present',
] as const;
export type Invariant = (typeof INVARIANTS)[number];
