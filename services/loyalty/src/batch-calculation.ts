import { createHash } from 'node:crypto';
import { tierOf } from '@cloudcafe/contracts';
import { defineStressScenario } from '@cloudcafe/kit';
import Type from 'typebox';
import type { Ledger, LedgerEntry } from './ledger.js';

/**
 * Stress `batch-calculation`: the hourly points recalculation. Pass after pass until the
 * duration ends, every customer's balance and tier is recomputed from their ledger (read with
 * the stored balance in one MULTI, so the comparison is a consistent snapshot) and compared
 * with what is stored; each ledger entry also goes through the audit digest (a SHA-256 chain)
 * the way a statement run signs what it read. Drift is reported, never repaired: a live
 * consumer writes the same keys, and the ledger is the truth the next award builds on anyway.
 */
export function batchCalculation(ledger: Ledger) {
  return defineStressScenario({
    name: 'batch-calculation',
    description: 'Hourly points recalculation: every balance and tier from the ledger, with drift report',
    knobs: Type.Object(
      {
        durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
        auditRounds: Type.Integer({
          minimum: 1,
          maximum: 2000,
          default: 200,
          description: 'SHA-256 rounds of the audit digest per ledger entry',
        }),
        pageSize: Type.Integer({ minimum: 10, maximum: 1000, default: 200 }),
      },
      { additionalProperties: false },
    ),
    durationMs: (knobs) => knobs.durationSeconds * 1000,
    maxDurationMs: 10 * 60_000,
    run: async (knobs, ctx) => {
      const started = Date.now();
      let passes = 0;
      let entriesProcessed = 0;
      let customersChecked = 0;
      let lastPass = { customers: 0, drifted: 0, examples: [] as unknown[] };
      while (!ctx.signal.aborted) {
        const pass = { customers: 0, drifted: 0, examples: [] as unknown[] };
        for await (const page of ledger.customers(knobs.pageSize)) {
          if (ctx.signal.aborted) break;
          for (const account of await ledger.snapshot(page)) {
            let points = 0;
            let digest = Buffer.alloc(32);
            for (const raw of account.ledger) {
              const entry = JSON.parse(raw) as LedgerEntry;
              points += entry.points;
              for (let i = 0; i < knobs.auditRounds; i++) {
                digest = createHash('sha256').update(digest).update(raw).digest();
              }
              entriesProcessed += 1;
            }
            const tier = tierOf(points);
            const drift =
              points !== account.storedPoints ||
              tier !== account.storedTier ||
              (account.boardPoints !== undefined && account.boardPoints !== points);
            if (drift) {
              pass.drifted += 1;
              if (pass.examples.length < 20) {
                pass.examples.push({
                  customerId: account.customerId,
                  ledgerPoints: points,
                  storedPoints: account.storedPoints,
                  ledgerTier: tier,
                  storedTier: account.storedTier,
                  leaderboardPoints: account.boardPoints ?? null,
                });
              }
            }
            pass.customers += 1;
            customersChecked += 1;
          }
          ctx.progress(
            Math.min(1, (Date.now() - started) / (knobs.durationSeconds * 1000)),
            `pass ${passes + 1}: ${pass.customers} customers`,
          );
          await ctx.yieldToEventLoop();
        }
        if (ctx.signal.aborted && passes > 0) break;
        passes += 1;
        lastPass = pass;
        // An empty ledger would otherwise spin on SSCAN; let the event loop breathe.
        if (pass.customers === 0) await ctx.yieldToEventLoop();
      }
      return {
        passes,
        customersChecked,
        entriesProcessed,
        drift: { customers: lastPass.drifted, of: lastPass.customers, examples: lastPass.examples },
      };
    },
  });
}
