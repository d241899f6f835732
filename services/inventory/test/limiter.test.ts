import { CafeError } from '@cloudcafe/kit';
import t from 'tap';
import { Limiter, waitAtMost } from '../src/limiter.js';

// The lane in front of DynamoDB: bounded concurrency, new work shed after a bounded wait, work
// already promised first. Pure logic, no engine needed.

/** A call that stays in flight until released, recording when it started. */
function gate(started: string[], name: string) {
  let open: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    fn: async () => {
      started.push(name);
      await done;
      return name;
    },
    open: () => open(),
  };
}

t.test('no more than the limit in flight; the rest start in order as slots free', async (t) => {
  // Prepare
  const lane = new Limiter(1, 'test');
  const started: string[] = [];
  const a = gate(started, 'a');
  const b = gate(started, 'b');
  const c = gate(started, 'c');
  // Act
  const runs = [lane.run(a.fn), lane.run(b.fn), lane.run(c.fn)];
  await new Promise((r) => setImmediate(r));
  const whileFirstRuns = [...started];
  a.open();
  b.open();
  c.open();
  // Assess
  t.same(await Promise.all(runs), ['a', 'b', 'c']);
  t.same(whileFirstRuns, ['a'], 'only one call in flight');
  t.same(started, ['a', 'b', 'c'], 'the others in arrival order');
});

t.test('new work that waits past its bound is refused with a 429 and never runs', async (t) => {
  // Prepare
  const lane = new Limiter(1, 'stock write');
  const started: string[] = [];
  const busy = gate(started, 'busy');
  const first = lane.run(busy.fn);
  // Act
  const refused = await lane.run(async () => started.push('late'), waitAtMost(30)).catch((e) => e);
  busy.open();
  await first;
  // Assess
  t.type(refused, CafeError);
  t.equal(refused.code, 'CAFE_ERR_RATE_LIMITED');
  t.equal(refused.statusCode, 429);
  t.equal(refused.retryAfterSeconds, 1, 'the client is told when to come back');
  t.match(refused.message, /stock write lane is full/);
  t.same(started, ['busy'], 'the refused call did nothing');
  t.equal(lane.shed, 1);
  t.equal(lane.queued, 0, 'and left the queue');
});

t.test('work already promised goes before new work, and is never shed', async (t) => {
  // Prepare
  const lane = new Limiter(1, 'test');
  const started: string[] = [];
  const busy = gate(started, 'busy');
  const first = lane.run(busy.fn);
  // Act: new work queues first, then a commit of an accepted order arrives
  const fresh = lane.run(async () => started.push('new reservation'), waitAtMost(5000));
  const promised = lane.run(async () => started.push('commit'));
  busy.open();
  await Promise.all([first, fresh, promised]);
  // Assess
  t.same(started, ['busy', 'commit', 'new reservation']);
  t.equal(lane.shed, 0);
});

t.test('one deadline spans several waits: a later lane gets only what is left', async (t) => {
  // Prepare: the first lane is free, the second busy; the budget is spent before the second
  const first = new Limiter(1, 'read');
  const second = new Limiter(1, 'stock write');
  const busy = gate([], 'busy');
  const blocking = second.run(busy.fn);
  const budget = waitAtMost(40);
  // Act
  await first.run(() => new Promise((r) => setTimeout(r, 50)), budget);
  const refused = await second.run(async () => 'late', budget).catch((e) => e);
  busy.open();
  await blocking;
  // Assess
  t.equal(refused.code, 'CAFE_ERR_RATE_LIMITED', 'refused at once: its budget was used up');
});

t.test('a newcomer facing more queue than its budget is refused at once, not at its deadline', async (t) => {
  // Prepare: calls hold the lane at least 50 ms; one runs, and 2,000 promised calls wait (at
  // least 100 s of queue ahead)
  const lane = new Limiter(1, 'stock write');
  await lane.run(() => new Promise((r) => setTimeout(r, 50)));
  const busy = gate([], 'busy');
  const running = lane.run(busy.fn);
  const waiting = Array.from({ length: 2000 }, () => lane.run(async () => 'served'));
  // Act: a newcomer with a 30 s budget
  const asked = Date.now();
  const refused = await lane.run(async () => 'late', waitAtMost(30_000)).catch((e) => e);
  const answeredInMs = Date.now() - asked;
  busy.open();
  await running;
  // Assess: two outcomes far apart, refused at once or at its deadline 30 s later
  t.equal(refused.code, 'CAFE_ERR_RATE_LIMITED');
  t.match(refused.message, /ms of queue ahead/);
  t.ok(answeredInMs < 10_000, `answered without waiting for its deadline (${answeredInMs} ms)`);
  t.equal(
    (await Promise.all(waiting)).filter((r) => r === 'served').length,
    2000,
    'the queue ahead is served',
  );
});

t.test('a call that starts in time is not refused later', async (t) => {
  // Prepare
  const lane = new Limiter(1, 'test');
  // Act: it starts at once and then runs longer than its wait bound
  const result = await lane.run(
    () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 60)),
    waitAtMost(10),
  );
  // Assess
  t.equal(result, 'done');
  t.equal(lane.shed, 0);
});

t.test('the lane reports its depth as calls queue, start, finish and are shed', async (t) => {
  // Prepare
  const depths: number[] = [];
  const lane = new Limiter(1, 'stock write', (d) => depths.push(d));
  const started: string[] = [];
  const busy = gate(started, 'busy');
  const queued = gate(started, 'queued');
  // Act
  const first = lane.run(busy.fn);
  const second = lane.run(queued.fn);
  const shed = lane.run(async () => 'never', waitAtMost(20)).catch((e: CafeError) => e.code);
  const whileBusy = lane.depth;
  // Assess
  t.equal(whileBusy, 3, 'one in flight, two waiting');
  t.equal(await shed, 'CAFE_ERR_RATE_LIMITED');
  t.equal(depths.at(-1), 2, 'the shed call left the queue');
  busy.open();
  queued.open();
  await Promise.all([first, second]);
  t.same(depths, [1, 2, 3, 2, 1, 1, 0], 'each change told (a handed-over slot twice), ending idle');
  t.equal(lane.depth, 0);
});

t.test('a freed slot goes to the queue, not to a newcomer arriving as it frees', async (t) => {
  // Prepare
  const lane = new Limiter(1, 'test');
  const started: string[] = [];
  const first = gate(started, 'first');
  const waiting = gate(started, 'waiting');
  const runs = [lane.run(first.fn), lane.run(waiting.fn)];
  // Act: the newcomer arrives in the same tick the first call ends.
  first.open();
  await runs[0];
  const newcomer = gate(started, 'newcomer');
  runs.push(lane.run(newcomer.fn));
  await new Promise((r) => setImmediate(r));
  const inFlight = [...started];
  waiting.open();
  newcomer.open();
  await Promise.all(runs);
  // Assess
  t.same(inFlight, ['first', 'waiting'], 'the waiter holds the slot; the newcomer queues');
  t.same(started, ['first', 'waiting', 'newcomer']);
});
