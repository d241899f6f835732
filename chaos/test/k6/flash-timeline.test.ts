import t from 'tap';
import { flashTimeline, parseFlashAttempts } from '../../src/k6/flash-timeline.js';

const line = (sent: number, answered: number, status: number) =>
  `time="2026-12-01T10:00:00Z" level=info msg="CLOUDCAFE_FLASH ${sent} ${answered} ${status}" source=console`;

t.test('attempt lines from the k6 console become attempts; other lines are ignored', async (t) => {
  const log = [
    line(1000, 1040, 202),
    'time="2026-12-01T10:00:00Z" level=info msg="CLOUDCAFE_ACK o-1 c-1 SKU*1 1040 k-1" source=console',
    line(1001, 9001, 0),
  ].join('\n');
  t.same(parseFlashAttempts(log), [
    { sentAt: 1000, answeredAt: 1040, status: 202 },
    { sentAt: 1001, answeredAt: 9001, status: 0 },
  ]);
});

t.test('sold out: seconds from the first attempt to the last sale, 429s before it counted', async (t) => {
  // Prepare: 2 units; a 429 before the last sale, a 429 and a 409 after it.
  const attempts = parseFlashAttempts(
    [
      line(1000, 1200, 202),
      line(1100, 1500, 429),
      line(1300, 3500, 202),
      line(1400, 3600, 429),
      line(1500, 3700, 409),
    ].join('\n'),
  );
  // Act
  const timeline = flashTimeline(attempts, 2);
  // Assess
  t.same(timeline, {
    attempts: 5,
    sold: 2,
    soldOut: true,
    secondsToLastSale: 2.5,
    shedWhileAvailable: 1,
    shed: 2,
  });
});

t.test('not sold out: units were there all along, so every 429 was shed while available', async (t) => {
  const timeline = flashTimeline(
    parseFlashAttempts([line(0, 100, 202), line(10, 900, 429), line(20, 8000, 429)].join('\n')),
    5,
  );
  t.equal(timeline.soldOut, false);
  t.equal(timeline.shedWhileAvailable, 2);
  t.equal(timeline.secondsToLastSale, 0.1);
  t.equal(flashTimeline([], 5).secondsToLastSale, undefined, 'no sale, no time');
});
