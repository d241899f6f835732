import t from 'tap';
import { expiredHolds, planBatch, type StockState, staleMoves } from '../src/stock-plan.js';

// The allocation rules as plain functions: no engine.

const NOW = 1_000_000;
const state = (over: Partial<StockState> = {}): StockState => ({
  available: 5,
  reserved: 0,
  sold: 0,
  version: 7,
  holds: {},
  moves: {},
  ...over,
});

t.test('holds are granted first come, first served while units last, and never below zero', async (t) => {
  // Act
  const plan = planBatch(
    state(),
    [
      { kind: 'hold', orderId: 'a', q: 2, exp: NOW + 60_000 },
      { kind: 'hold', orderId: 'b', q: 4, exp: NOW + 60_000 },
      { kind: 'hold', orderId: 'c', q: 3, exp: NOW + 60_000 },
      { kind: 'hold', orderId: 'd', q: 1, exp: NOW + 60_000 },
    ],
    NOW,
  );
  // Assess
  t.same(
    plan.outcomes.map((o) => o.kind),
    ['granted', 'short', 'granted', 'short'],
    'b is short at 3 left; c fits; d finds 0',
  );
  t.same(plan.outcomes[1], { kind: 'short', available: 3 }, 'the short answer says what was left');
  t.match(plan.next, { available: 0, reserved: 5, sold: 0, version: 8 });
  t.same(Object.keys(plan.next.holds).sort(), ['a', 'c']);
  t.ok(plan.changed);
});

t.test('a second hold for the same order is a repeat, not a second allocation', async (t) => {
  const held = state({ available: 3, reserved: 2, holds: { a: { q: 2, exp: NOW + 5 } } });
  const plan = planBatch(held, [{ kind: 'hold', orderId: 'a', q: 2, exp: NOW + 60_000 }], NOW);
  t.same(plan.outcomes, [{ kind: 'repeat', q: 2, exp: NOW + 5 }]);
  t.notOk(plan.changed, 'nothing to write');
  t.equal(plan.next.version, 7, 'the version only moves with a write');
});

t.test('an attached order is committed or released once, however often it is asked', async (t) => {
  // Prepare: order a attached (hold gone, 2 units reserved)
  const attached = state({ available: 3, reserved: 2 });
  // Act
  const first = planBatch(attached, [{ kind: 'commit-attached', orderId: 'a', q: 2 }], NOW);
  const again = planBatch(first.next, [{ kind: 'commit-attached', orderId: 'a', q: 2 }], NOW + 1);
  const release = planBatch(first.next, [{ kind: 'release-attached', orderId: 'a', q: 2 }], NOW + 2);
  // Assess
  t.match(first.next, { available: 3, reserved: 0, sold: 2 });
  t.same(first.next.moves.a, { to: 'committed', at: NOW }, 'the move is marked until the record says so');
  t.same(again.outcomes, [{ kind: 'already' }]);
  t.notOk(again.changed);
  t.same(release.outcomes, [{ kind: 'already' }], 'a late release cannot return sold units');
  const forgotten = planBatch(first.next, [{ kind: 'forget', orderId: 'a' }], NOW);
  t.same(forgotten.next.moves, {});
});

t.test('a commit of an attach whose hold removal was not written yet moves the hold’s units', async (t) => {
  const plan = planBatch(
    state({ available: 3, reserved: 2, holds: { a: { q: 2, exp: NOW } } }),
    [{ kind: 'release-attached', orderId: 'a', q: 2 }],
    NOW,
  );
  t.match(plan.next, { available: 5, reserved: 0, holds: {} });
});

t.test('a held commit needs its hold; a returned hold goes back to the shelf once', async (t) => {
  const held = state({ available: 3, reserved: 2, holds: { a: { q: 2, exp: NOW } } });
  const returned = planBatch(held, [{ kind: 'return-hold', orderId: 'a' }], NOW);
  t.match(returned.next, { available: 5, reserved: 0 });
  t.same(planBatch(returned.next, [{ kind: 'return-hold', orderId: 'a' }], NOW).outcomes, [
    { kind: 'already' },
  ]);
  t.same(planBatch(returned.next, [{ kind: 'commit-held', orderId: 'a' }], NOW).outcomes, [{ kind: 'gone' }]);
  const committed = planBatch(held, [{ kind: 'commit-held', orderId: 'a' }], NOW);
  t.match(committed.next, { available: 3, reserved: 0, sold: 2 });
  t.same(planBatch(committed.next, [{ kind: 'commit-held', orderId: 'a' }], NOW).outcomes, [
    { kind: 'already' },
  ]);
});

t.test('units returned earlier in a batch are sold later in the same batch', async (t) => {
  const held = state({ available: 0, reserved: 2, holds: { a: { q: 2, exp: NOW } } });
  const plan = planBatch(
    held,
    [
      { kind: 'return-hold', orderId: 'a' },
      { kind: 'hold', orderId: 'b', q: 2, exp: NOW + 1 },
    ],
    NOW,
  );
  t.same(
    plan.outcomes.map((o) => o.kind),
    ['applied', 'granted'],
  );
  t.match(plan.next, { available: 0, reserved: 2 });
});

t.test('the input state is never changed', async (t) => {
  const before = state({ holds: { a: { q: 1, exp: NOW } } });
  const copy = structuredClone(before);
  planBatch(
    before,
    [
      { kind: 'return-hold', orderId: 'a' },
      { kind: 'hold', orderId: 'b', q: 1, exp: 1 },
    ],
    NOW,
  );
  t.same(before, copy);
});

t.test('a record and an item that disagree are refused, not written', async (t) => {
  t.throws(
    () => planBatch(state({ reserved: 1 }), [{ kind: 'commit-attached', orderId: 'a', q: 3 }], NOW),
    /reserved below zero/,
  );
});

t.test('the sweeper finds expired holds and move markers past their age', async (t) => {
  const s = state({
    holds: { old: { q: 1, exp: NOW - 1 }, fresh: { q: 1, exp: NOW + 1 } },
    moves: { done: { to: 'committed', at: NOW - 60_000 }, recent: { to: 'released', at: NOW } },
  });
  t.same(expiredHolds(s, NOW), ['old']);
  t.same(staleMoves(s, NOW - 30_000), ['done']);
});
