import t from 'tap';
import { type ExpiredFault, FaultDeadlines, MAX_HOLD_MS, parseHeldFault } from '../src/fault-deadlines.js';

// Unit tests of the daemon's fault deadlines, with the undo actions recorded instead of sent to
// Toxiproxy and the supervisor (the lab test `experiment-run` kills a real orchestrator
// mid-fault and sees the real toxic go). Deadlines here are either already due or an hour
// away: no assertion depends on how fast the machine is.

function keeper() {
  const undone: string[] = [];
  const expired: ExpiredFault[] = [];
  let failLink: string | undefined;
  const deadlines = new FaultDeadlines(
    {
      removeToxic: async (link, toxic) => {
        undone.push(`toxic ${link}/${toxic}`);
      },
      enableLink: async (link) => {
        if (link === failLink) throw new Error('toxiproxy is down');
        undone.push(`enable ${link}`);
      },
      continueProcess: (name) => {
        undone.push(`SIGCONT ${name}`);
      },
    },
    (fault) => expired.push(fault),
  );
  t.teardown(() => {
    for (const f of deadlines.list()) deadlines.disarm(f.tag);
  });
  return { deadlines, undone, expired, failOn: (link: string) => (failLink = link) };
}

const whenExpired = (expired: ExpiredFault[], n: number) =>
  new Promise<void>((resolve) => {
    const check = () => (expired.length >= n ? resolve() : setTimeout(check, 5));
    check();
  });

t.test('a fault whose deadline passes is undone by the keeper itself', async (t) => {
  const { deadlines, undone, expired } = keeper();
  deadlines.arm('t-0', { kind: 'toxic', link: 'order-to-postgres', toxic: 't-0' }, Date.now());
  deadlines.arm('t-1', { kind: 'link-disabled', links: ['menu-to-redis', 'loyalty-to-redis'] }, Date.now());
  deadlines.arm('t-2', { kind: 'process-paused', process: 'postgres' }, Date.now());
  await whenExpired(expired, 3);
  t.same(undone.sort(), [
    'SIGCONT postgres',
    'enable loyalty-to-redis',
    'enable menu-to-redis',
    'toxic order-to-postgres/t-0',
  ]);
  t.ok(expired.every((e) => e.undone));
  t.same(deadlines.list(), [], 'nothing held any more');
});

t.test('a fault reverted by its run is disarmed: the keeper never touches it', async (t) => {
  const { deadlines, undone } = keeper();
  deadlines.arm('t-0', { kind: 'toxic', link: 'l', toxic: 't-0' }, Date.now() + 3_600_000 / 4);
  t.equal(deadlines.list().length, 1);
  t.ok(deadlines.disarm('t-0'));
  t.notOk(deadlines.disarm('t-0'), 'a second disarm finds nothing');
  t.same(deadlines.list(), []);
  t.same(undone, []);
});

t.test('an undo that fails is reported, not thrown; expireAll undoes everything now', async (t) => {
  const { deadlines, expired, undone, failOn } = keeper();
  failOn('menu-to-redis');
  deadlines.arm('t-0', { kind: 'link-disabled', links: ['menu-to-redis'] }, Date.now() + 600_000);
  deadlines.arm('t-1', { kind: 'process-paused', process: 'order' }, Date.now() + 600_000);
  const all = await deadlines.expireAll();
  t.same(
    all.map((e) => [e.tag, e.undone]),
    [
      ['t-0', false],
      ['t-1', true],
    ],
  );
  t.match(expired.find((e) => e.tag === 't-0')?.error, /toxiproxy is down/);
  t.same(undone, ['SIGCONT order']);
});

t.test('a deadline further out than any fault may last is refused', async (t) => {
  const { deadlines } = keeper();
  t.throws(
    () => deadlines.arm('t', { kind: 'process-paused', process: 'p' }, Date.now() + MAX_HOLD_MS + 60_000),
    {
      name: 'RangeError',
    },
  );
});

t.test('control bodies: closed shapes, bounded holds', async (t) => {
  t.same(
    parseHeldFault({
      tag: 'cloudcafe-r-0',
      holdMs: 5000,
      fault: { kind: 'toxic', link: 'a-to-b', toxic: 'cloudcafe-r-0' },
    }),
    {
      tag: 'cloudcafe-r-0',
      holdMs: 5000,
      fault: { kind: 'toxic', link: 'a-to-b', toxic: 'cloudcafe-r-0' },
    },
  );
  for (const [body, why] of [
    [
      { tag: 't', holdMs: 1, fault: { kind: 'toxic', link: 'a', toxic: 't' }, extra: 1 },
      /unknown field extra/,
    ],
    [{ tag: 't', holdMs: MAX_HOLD_MS + 1, fault: { kind: 'process-paused', process: 'p' } }, /holdMs/],
    [{ tag: 't', holdMs: 1, fault: { kind: 'process-paused', process: 'p', signal: 'x' } }, /fault:/],
    [{ tag: 't', holdMs: 1, fault: { kind: 'link-disabled', links: [] } }, /fault:/],
    [{ tag: 'a b', holdMs: 1, fault: { kind: 'process-paused', process: 'p' } }, /tag/],
  ] as const) {
    t.throws(() => parseHeldFault(body as Record<string, unknown>), why);
  }
});
