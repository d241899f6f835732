import { createHash } from 'node:crypto';
import { defineStressScenario } from '@cloudcafe/kit';
import Type from 'typebox';

/**
 * Corporate bulk orders at opening: each order is priced line by line (volume tiers, modifiers),
 * taxed per jurisdiction with half-even rounding on integer cents, serialised to an invoice and
 * fingerprinted — the CPU the order service spends when a hundred offices order at 8:00.
 */

const PRICE_LIST = [
  250, 320, 350, 450, 475, 525, 430, 380, 575, 275, 495, 550, 650, 375, 450, 395, 1400,
] as const;
const TAX_RATES_BP = { 'US-WA': 1025, 'US-OR': 0, 'US-CA': 875, 'US-NY': 888, 'US-TX': 825 } as const;
const JURISDICTIONS = Object.keys(TAX_RATES_BP) as (keyof typeof TAX_RATES_BP)[];

/** Half-even rounding of a basis-point product, so totals agree with an accountant's. */
function roundHalfEven(numerator: number, denominator: number): number {
  const q = Math.floor(numerator / denominator);
  const r = numerator - q * denominator;
  if (r * 2 > denominator) return q + 1;
  if (r * 2 < denominator) return q;
  return q % 2 === 0 ? q : q + 1;
}

export function priceBulkOrder(
  seed: number,
  lines: number,
): { totalCents: number; invoiceBytes: number; digest: string } {
  const jurisdiction = JURISDICTIONS[seed % JURISDICTIONS.length] ?? 'US-WA';
  const invoiceLines: {
    sku: string;
    quantity: number;
    unitCents: number;
    discountCents: number;
    taxCents: number;
  }[] = [];
  let subtotal = 0;
  let tax = 0;
  let s = seed >>> 0;
  for (let i = 0; i < lines; i++) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const unitCents = PRICE_LIST[s % PRICE_LIST.length] ?? 300;
    const quantity = 1 + (s % 40);
    const gross = unitCents * quantity;
    // Volume tiers: 5% from 10 units, 10% from 25.
    const discountBp = quantity >= 25 ? 1000 : quantity >= 10 ? 500 : 0;
    const discountCents = roundHalfEven(gross * discountBp, 10_000);
    const net = gross - discountCents;
    const taxCents = roundHalfEven(net * TAX_RATES_BP[jurisdiction], 10_000);
    subtotal += net;
    tax += taxCents;
    invoiceLines.push({ sku: `SKU-${s % 997}`, quantity, unitCents, discountCents, taxCents });
  }
  const invoice = JSON.stringify({ jurisdiction, lines: invoiceLines, subtotal, tax, total: subtotal + tax });
  const parsed = JSON.parse(invoice) as { total: number };
  const digest = createHash('sha256').update(invoice).digest('hex');
  return { totalCents: parsed.total, invoiceBytes: invoice.length, digest };
}

export const morningRush = defineStressScenario({
  name: 'morning-rush',
  description: 'Corporate bulk orders at opening: line pricing, tax, invoice serialisation',
  knobs: Type.Object({
    durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
    linesPerOrder: Type.Integer({ minimum: 1, maximum: 2000, default: 250 }),
    ordersPerChunk: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  }),
  durationMs: (knobs) => knobs.durationSeconds * 1000,
  maxDurationMs: 10 * 60_000,
  run: async (knobs, ctx) => {
    const started = Date.now();
    let orders = 0;
    let revenueCents = 0;
    let invoiceBytes = 0;
    let lastDigest = '';
    while (!ctx.signal.aborted) {
      for (let i = 0; i < knobs.ordersPerChunk; i++) {
        const priced = priceBulkOrder(orders + 1, knobs.linesPerOrder);
        orders++;
        revenueCents += priced.totalCents;
        invoiceBytes += priced.invoiceBytes;
        lastDigest = priced.digest;
      }
      ctx.progress(
        Math.min(1, (Date.now() - started) / (knobs.durationSeconds * 1000)),
        `${orders} orders priced`,
      );
      await ctx.yieldToEventLoop();
    }
    return { orders, revenueCents, invoiceBytes, lastDigest };
  },
});
