import { createHash } from 'node:crypto';

/**
 * Fraud scoring for card payments. The rule, in full:
 *
 *   score = 0.80 · amountRisk + 0.25 · currencyRisk + 0.15 · customerRisk      (capped at 1)
 *
 * - amountRisk rises linearly from 0 at $200 to 1 at $5,000 (large tickets are where card
 *   testing and stolen cards show up in a café's traffic);
 * - currencyRisk is 0 for USD, EUR, GBP, CAD (the currencies the tills take) and 1 otherwise;
 * - customerRisk is the customer's reputation in the model table, from 0 to 1.
 *
 * A score at or above {@link FRAUD_DECLINE_THRESHOLD} declines the payment before any charge.
 * So a ticket of $5,000 or more is always declined, from $4,100 the customer's reputation
 * decides, an unusual currency lowers the bar to $3,500, and a small ticket is never declined.
 *
 * The model table is what makes the Lambda's cold start expensive, as a real model load would
 * be: 4,096 reputation buckets derived from a SHA-256 chain of `rounds` links. The chain is
 * sequential by construction (each link hashes the previous one), so its cost cannot be
 * skipped, cached across instances or parallelised: every new instance pays it in full.
 */

export const FRAUD_DECLINE_THRESHOLD = 0.8;
const BUCKETS = 4096;
const HOME_CURRENCIES = new Set(['USD', 'EUR', 'GBP', 'CAD']);
const AMOUNT_RISK_FROM_CENTS = 20_000;
const AMOUNT_RISK_FULL_CENTS = 500_000;

export interface FraudModel {
  /** Reputation per bucket, 0…1. */
  readonly reputation: Float64Array;
  /** The chain's last link: proves the whole chain ran, and identifies the model version. */
  readonly digest: string;
  readonly rounds: number;
  readonly buildMs: number;
}

/** Builds the model table: `rounds` sequential SHA-256 links, sampled into the buckets. */
export function buildFraudModel(rounds: number, seed = 'cloudcafe-fraud-model-v1'): FraudModel {
  const started = performance.now();
  const reputation = new Float64Array(BUCKETS);
  let link = createHash('sha256').update(seed).digest();
  const every = Math.max(1, Math.floor(rounds / BUCKETS));
  for (let i = 0; i < rounds; i++) {
    link = createHash('sha256').update(link).digest();
    if (i % every === 0) reputation[(i / every) % BUCKETS] = link.readUInt32BE(0) / 0xffff_ffff;
  }
  return { reputation, digest: link.toString('hex'), rounds, buildMs: performance.now() - started };
}

export interface FraudInput {
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
}

export interface FraudScore {
  readonly score: number;
  readonly declined: boolean;
  readonly amountRisk: number;
  readonly currencyRisk: number;
  readonly customerRisk: number;
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export function scoreFraud(model: FraudModel, input: FraudInput): FraudScore {
  const amountRisk = clamp01(
    (input.amountCents - AMOUNT_RISK_FROM_CENTS) / (AMOUNT_RISK_FULL_CENTS - AMOUNT_RISK_FROM_CENTS),
  );
  const currencyRisk = HOME_CURRENCIES.has(input.currency) ? 0 : 1;
  const bucket = createHash('sha256').update(input.customerId).digest().readUInt16BE(0) % BUCKETS;
  const customerRisk = model.reputation[bucket] ?? 0;
  const score = Math.min(1, 0.8 * amountRisk + 0.25 * currencyRisk + 0.15 * customerRisk);
  const rounded = Math.round(score * 1000) / 1000;
  return {
    score: rounded,
    declined: rounded >= FRAUD_DECLINE_THRESHOLD,
    amountRisk,
    currencyRisk,
    customerRisk,
  };
}
