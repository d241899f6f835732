/**
 * When each flash-sale attempt was sent and answered. k6 cannot write files from a VU, so the
 * flash-sale scenario logs one console line per attempt,
 * `CLOUDCAFE_FLASH <sentEpochMs> <answeredEpochMs> <status>` (load-tests/src/scenarios/flash-sale.ts),
 * which k6 appends to `k6-console.log`; this reads the sale's timeline back from those lines.
 */

export interface FlashAttempt {
  readonly sentAt: number;
  readonly answeredAt: number;
  /** HTTP status; 0 when k6 got no answer (timeout, connection refused). */
  readonly status: number;
}

const LINE = /CLOUDCAFE_FLASH (\d+) (\d+) (\d+)/;

export function parseFlashAttempts(consoleLog: string): FlashAttempt[] {
  const attempts: FlashAttempt[] = [];
  for (const line of consoleLog.split('\n')) {
    const m = LINE.exec(line);
    if (m) attempts.push({ sentAt: Number(m[1]), answeredAt: Number(m[2]), status: Number(m[3]) });
  }
  return attempts;
}

export interface FlashTimeline {
  readonly attempts: number;
  readonly sold: number;
  /** Every unit sold (sold ≥ stock). */
  readonly soldOut: boolean;
  /** First attempt sent → last sale answered (the sell-out when sold out), in seconds. */
  readonly secondsToLastSale: number | undefined;
  /** 429s answered before the last sale, i.e. while units were still on the shelf. */
  readonly shedWhileAvailable: number;
  readonly shed: number;
}

/**
 * The sale's timeline: when the last unit went (the sell-out moment, if every unit went) and how
 * many buyers were shed (429) while units were still available. If the lot never sold out, units
 * were available throughout, so every 429 counts.
 */
export function flashTimeline(attempts: readonly FlashAttempt[], stock: number): FlashTimeline {
  // reduce, not Math.min(...xs): a sale has up to 200,000 attempts, too many for arguments.
  const first = attempts.reduce((min, a) => Math.min(min, a.sentAt), Number.POSITIVE_INFINITY);
  const sales = attempts.filter((a) => a.status === 202);
  const lastSale = sales.length > 0 ? sales.reduce((max, a) => Math.max(max, a.answeredAt), 0) : undefined;
  const soldOut = sales.length >= stock;
  const shed = attempts.filter((a) => a.status === 429);
  return {
    attempts: attempts.length,
    sold: sales.length,
    soldOut,
    secondsToLastSale: lastSale === undefined ? undefined : (lastSale - first) / 1000,
    shedWhileAvailable:
      soldOut && lastSale !== undefined ? shed.filter((a) => a.answeredAt < lastSale).length : shed.length,
    shed: shed.length,
  };
}
