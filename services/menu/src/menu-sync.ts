import { createHash } from 'node:crypto';
import { defineStressScenario } from '@cloudcafe/kit';
import Type from 'typebox';
import type { MenuCache } from './cache.js';
import type { ItemInput } from './schemas.js';
import type { MenuStore } from './store.js';

/**
 * Stress `menu-sync`: a seasonal menu launch. For every item of the menu, round after round:
 * build the rich item document a content system would send (JSON serialise + parse), render
 * and SHA-256 hash its image bytes, recompute nutrition from a recipe, base64-encode the image
 * for the CDN manifest, then write the image hash and nutrition back and invalidate the cache.
 * The written values are deterministic, so a sync leaves the menu's content as it found it.
 */

/** Deterministic pseudo-image bytes (xorshift) so the hash work is real but repeatable. */
function renderImage(seed: string, bytes: number): Buffer {
  const image = Buffer.allocUnsafe(bytes);
  let x = createHash('sha256').update(seed).digest().readUInt32LE(0) | 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    image.writeUInt32LE(x >>> 0, Math.min(i, bytes - 4));
  }
  return image;
}

/** Nutrition from a recipe of ingredients, the way a recipe system would compute it. */
function recomputeNutrition(item: ItemInput, recipeSize: number): ItemInput['nutrition'] {
  const scale = item.nutrition.calories / recipeSize || 0;
  const totals = { proteinG: 0, fatG: 0, carbsG: 0, sugarG: 0 };
  for (let i = 0; i < recipeSize; i++) {
    totals.proteinG += (item.nutrition.proteinG / item.nutrition.calories || 0) * scale;
    totals.fatG += (item.nutrition.fatG / item.nutrition.calories || 0) * scale;
    totals.carbsG += (item.nutrition.carbsG / item.nutrition.calories || 0) * scale;
    totals.sugarG += (item.nutrition.sugarG / item.nutrition.calories || 0) * scale;
  }
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    calories: item.nutrition.calories,
    proteinG: round(totals.proteinG),
    fatG: round(totals.fatG),
    carbsG: round(totals.carbsG),
    sugarG: round(totals.sugarG),
    caffeineMg: item.nutrition.caffeineMg,
  };
}

export function menuSync(store: MenuStore, cache: MenuCache) {
  return defineStressScenario({
    name: 'menu-sync',
    description:
      'Seasonal menu launch: per item JSON work, SHA-256 image hash, nutrition, base64, write, cache invalidation',
    knobs: Type.Object(
      {
        durationSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
        imageKb: Type.Integer({
          minimum: 1,
          maximum: 1024,
          default: 256,
          description: 'Image size hashed per item',
        }),
        jsonCopies: Type.Integer({
          minimum: 1,
          maximum: 200,
          default: 40,
          description: 'Serialise/parse rounds per item',
        }),
        writes: Type.Boolean({
          default: true,
          description: 'Write the results back and invalidate the cache',
        }),
      },
      { additionalProperties: false },
    ),
    durationMs: (knobs) => knobs.durationSeconds * 1000,
    maxDurationMs: 10 * 60_000,
    run: async (knobs, ctx) => {
      const started = Date.now();
      const total = knobs.durationSeconds * 1000;
      let processed = 0;
      let rounds = 0;
      let writes = 0;
      let bytesHashed = 0;
      let manifestBytes = 0;
      while (!ctx.signal.aborted) {
        const menu = [];
        let cursor: string | undefined;
        do {
          const page = await store.list({ limit: 100, ...(cursor && { cursor }) });
          menu.push(...page.items);
          cursor = page.nextCursor ?? undefined;
        } while (cursor && !ctx.signal.aborted);
        for (const item of menu) {
          if (ctx.signal.aborted) break;
          let document = JSON.stringify({ ...item, locales: ['en', 'fr', 'de', 'es'], season: 'autumn' });
          for (let i = 0; i < knobs.jsonCopies; i++) document = JSON.stringify(JSON.parse(document));
          const image = renderImage(item.id, knobs.imageKb * 1024);
          const sha256 = createHash('sha256').update(image).digest('hex');
          manifestBytes += image.toString('base64').length;
          bytesHashed += image.length;
          const nutrition = recomputeNutrition(item, 64);
          if (knobs.writes) {
            await store.patchSync(item.id, { image: { url: item.image.url, sha256 }, nutrition });
            await cache.invalidate(item.id);
            writes += 1;
          }
          processed += 1;
          ctx.progress(Math.min(1, (Date.now() - started) / total), `${processed} items synced`);
          await ctx.yieldToEventLoop();
        }
        rounds += 1;
      }
      return { itemsProcessed: processed, rounds, writes, bytesHashed, manifestBytes };
    },
  });
}
