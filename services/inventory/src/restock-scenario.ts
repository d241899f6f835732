import { createHash } from 'node:crypto';
import { defineStressScenario } from '@cloudcafe/kit';
import type { Redis } from 'ioredis';
import Type from 'typebox';

/**
 * The weekly inventory sync: a supplier snapshot of many SKUs arrives; each round diffs it
 * against the previous one, checksums every row and the whole snapshot (SHA-256), and writes
 * the changed rows in batches to a staging hash in Redis (pipelined, expiring after an hour)
 * so the live catalogue is never disturbed by a drill.
 */

interface Row {
  sku: string;
  onHand: number;
  costCents: number;
  supplier: string;
}

const SUPPLIERS = ['Halo Beans', 'Northern Dairy', 'Oven & Co', 'Leaf Traders'] as const;

// A deterministic generator: the same round builds the same snapshot, so diffs are real and repeatable.
function snapshot(size: number, round: number): Row[] {
  const rows: Row[] = new Array(size);
  let seed = 2166136261 ^ round;
  for (let i = 0; i < size; i++) {
    seed = Math.imul(seed ^ i, 16777619) >>> 0;
    const changes = seed % 10 === 0; // about a tenth of the rows change each round
    rows[i] = {
      sku: `SYNC-${i.toString().padStart(7, '0')}`,
      onHand: (i * 7 + (changes ? round * 3 : 0)) % 5000,
      costCents: 50 + ((i * 13) % 2000),
      supplier: SUPPLIERS[i % SUPPLIERS.length] ?? 'Halo Beans',
    };
  }
  return rows;
}

export function createRestockScenario(redis: Redis) {
  return defineStressScenario({
    name: 'restock',
    description: 'Weekly inventory sync: diff and checksum a large SKU snapshot, write changes in batches',
    knobs: Type.Object({
      durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
      skuCount: Type.Integer({ minimum: 1000, maximum: 200_000, default: 50_000 }),
      writeBatchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
    }),
    durationMs: (knobs) => knobs.durationSeconds * 1000,
    maxDurationMs: 10 * 60_000,
    run: async (knobs, ctx) => {
      const started = Date.now();
      const total = knobs.durationSeconds * 1000;
      const stagingKey = `inventory:sync:${started}`;
      let previous = new Map<string, string>();
      let rounds = 0;
      let rowsChecked = 0;
      let rowsWritten = 0;
      let writeErrors = 0;
      let checksum = '';
      while (!ctx.signal.aborted) {
        const rows = snapshot(knobs.skuCount, rounds);
        const whole = createHash('sha256');
        const next = new Map<string, string>();
        let batch: [string, string][] = [];
        for (let i = 0; i < rows.length && !ctx.signal.aborted; i++) {
          const row = rows[i] as Row;
          const body = JSON.stringify(row);
          const digest = createHash('sha256').update(body).digest('hex');
          whole.update(digest);
          next.set(row.sku, digest);
          rowsChecked++;
          if (previous.get(row.sku) !== digest) batch.push([row.sku, body]);
          if (batch.length >= knobs.writeBatchSize) {
            const ok = await writeBatch(redis, stagingKey, batch);
            rowsWritten += ok ? batch.length : 0;
            writeErrors += ok ? 0 : 1;
            batch = [];
          }
          if (i % 2000 === 0) {
            ctx.progress(Math.min(1, (Date.now() - started) / total), `round ${rounds + 1}, row ${i}`);
            await ctx.yieldToEventLoop();
          }
        }
        if (batch.length > 0) {
          const ok = await writeBatch(redis, stagingKey, batch);
          rowsWritten += ok ? batch.length : 0;
          writeErrors += ok ? 0 : 1;
        }
        checksum = whole.digest('hex');
        previous = next;
        rounds++;
      }
      return { rounds, rowsChecked, rowsWritten, writeErrors, lastChecksum: checksum, stagingKey };
    },
  });
}

// A Redis outage during a drill counts failed batches instead of failing the whole run.
async function writeBatch(redis: Redis, key: string, batch: readonly [string, string][]): Promise<boolean> {
  try {
    await redis.pipeline().hset(key, Object.fromEntries(batch)).expire(key, 3600).exec();
    return true;
  } catch {
    return false;
  }
}
