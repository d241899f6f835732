/**
 * What a batch of stock operations does to one SKU's unit state: a pure function, so the rules
 * that keep stock true (never below zero, a unit allocated once, an order's units moved once)
 * are tested without an engine. The lane (stock-lane.ts) applies the result with one
 * compare-and-swap write on the SKU item. docs/adr/0011-coalesced-stock-writes.md has the
 * design and why it is safe when an instance dies at any step.
 */

/** One order's units taken from `available` and not yet attached to a committed order. */
export interface Hold {
  /** Units held. */
  readonly q: number;
  /** Epoch ms after which the sweeper may give them back (if the order never attached). */
  readonly exp: number;
}

/**
 * The units of an attached order were moved (sold or returned). Kept only until the order's
 * reservation record says so too, so that a retried move can tell it already happened.
 */
export interface Move {
  readonly to: 'committed' | 'released';
  /** Epoch ms when the move was applied. */
  readonly at: number;
}

/** The part of a SKU item that the lane owns. `version` increases with every lane write. */
export interface StockState {
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
  readonly version: number;
  readonly holds: Readonly<Record<string, Hold>>;
  readonly moves: Readonly<Record<string, Move>>;
}

/**
 * The operations, by the reservation's state when its caller decided on them:
 * - `hold`: a new reservation takes `q` units (first come, first served within a batch);
 * - `unhold`: the order attached: its hold stops being a hold (units stay reserved);
 * - `return-hold`: give a hold's units back (a reservation that failed on another SKU, an
 *   orphan whose order never wrote its record, an expired or released held reservation);
 * - `commit-held` / `commit-attached`: reserved units become sold (both leave a move marker);
 * - `release-attached`: an attached order's reserved units go back to available;
 * - `forget`: the order's record now says where its units went: drop the move marker.
 */
export type StockOp =
  | { readonly kind: 'hold'; readonly orderId: string; readonly q: number; readonly exp: number }
  | { readonly kind: 'unhold' | 'return-hold' | 'forget' | 'commit-held'; readonly orderId: string }
  | {
      readonly kind: 'commit-attached' | 'release-attached';
      readonly orderId: string;
      readonly q: number;
    };

/**
 * What an operation did:
 * - `granted` (a hold was taken), `short` (not enough units: nothing taken, `available` says how
 *   many there were), `repeat` (the order already holds `q` units here);
 * - `applied` (the operation changed the state), `already` (it had happened before: a retry);
 * - `gone` (`commit-held` found no hold: it expired and was given back).
 */
export type StockOutcome =
  | { readonly kind: 'granted' | 'applied' | 'already' | 'gone' }
  | { readonly kind: 'short'; readonly available: number }
  | { readonly kind: 'repeat'; readonly q: number; readonly exp: number };

export interface StockPlan {
  readonly next: StockState;
  /** One per operation, in order. */
  readonly outcomes: readonly StockOutcome[];
  /** False when no operation changed anything: no write is needed. */
  readonly changed: boolean;
}

const GRANTED = { kind: 'granted' } as const;
const APPLIED = { kind: 'applied' } as const;
const ALREADY = { kind: 'already' } as const;

/** A copy of the state that the operations of one batch change in turn. */
interface Work {
  available: number;
  reserved: number;
  sold: number;
  holds: Record<string, Hold>;
  moves: Record<string, Move>;
  changed: boolean;
}

/** Applies `ops` in order to `state`. The input is never mutated. */
export function planBatch(state: StockState, ops: readonly StockOp[], now: number): StockPlan {
  const work: Work = {
    available: state.available,
    reserved: state.reserved,
    sold: state.sold,
    holds: { ...state.holds },
    moves: { ...state.moves },
    changed: false,
  };
  const outcomes = ops.map((op) => applyOne(work, op, now));
  if (work.reserved < 0) {
    // Only a record and an item that disagree can get here; refuse rather than write nonsense.
    throw new Error(`stock plan would take reserved below zero (${work.reserved})`);
  }
  const { changed, ...units } = work;
  return { next: { ...units, version: state.version + (changed ? 1 : 0) }, outcomes, changed };
}

function applyOne(work: Work, op: StockOp, now: number): StockOutcome {
  const hold = work.holds[op.orderId];
  const moved = work.moves[op.orderId];
  switch (op.kind) {
    case 'hold':
      if (hold) return { kind: 'repeat', q: hold.q, exp: hold.exp };
      if (work.available < op.q) return { kind: 'short', available: work.available };
      work.available -= op.q;
      work.reserved += op.q;
      work.holds[op.orderId] = { q: op.q, exp: op.exp };
      work.changed = true;
      return GRANTED;
    case 'unhold':
      if (!hold) return ALREADY;
      delete work.holds[op.orderId];
      work.changed = true;
      return APPLIED;
    case 'return-hold':
      if (!hold) return ALREADY;
      delete work.holds[op.orderId];
      work.reserved -= hold.q;
      work.available += hold.q;
      work.changed = true;
      return APPLIED;
    case 'commit-held':
      if (moved) return ALREADY;
      if (!hold) return { kind: 'gone' };
      delete work.holds[op.orderId];
      work.reserved -= hold.q;
      work.sold += hold.q;
      // Marked like an attached order's move, so a retry whose answer was lost sees `already`.
      work.moves[op.orderId] = { to: 'committed', at: now };
      work.changed = true;
      return APPLIED;
    case 'commit-attached':
    case 'release-attached': {
      if (moved) return ALREADY;
      // An attach whose hold removal has not been written yet: the units are the same ones.
      delete work.holds[op.orderId];
      const q = hold?.q ?? op.q;
      work.reserved -= q;
      if (op.kind === 'commit-attached') work.sold += q;
      else work.available += q;
      work.moves[op.orderId] = { to: op.kind === 'commit-attached' ? 'committed' : 'released', at: now };
      work.changed = true;
      return APPLIED;
    }
    case 'forget':
      if (!moved) return ALREADY;
      delete work.moves[op.orderId];
      work.changed = true;
      return APPLIED;
  }
}

/** Holds whose expiry passed: the sweeper's candidates. */
export function expiredHolds(state: Pick<StockState, 'holds'>, now: number): string[] {
  return Object.entries(state.holds)
    .filter(([, hold]) => hold.exp < now)
    .map(([orderId]) => orderId);
}

/** Move markers older than `before`: a move whose record update was lost with its instance. */
export function staleMoves(state: Pick<StockState, 'moves'>, before: number): string[] {
  return Object.entries(state.moves)
    .filter(([, move]) => move.at < before)
    .map(([orderId]) => orderId);
}
