import t from 'tap';
import {
  advanceWatermark,
  GRACE_MS,
  isClosed,
  MAX_CLOCK_SKEW_MS,
  WINDOW_MS,
  windowStart,
} from '../src/windows.js';

t.test('events fall in 5-minute tumbling windows by event time', async (t) => {
  t.equal(windowStart(new Date('2026-01-01T12:04:59.999Z')).toISOString(), '2026-01-01T12:00:00.000Z');
  t.equal(windowStart(new Date('2026-01-01T12:05:00.000Z')).toISOString(), '2026-01-01T12:05:00.000Z');
  t.equal(WINDOW_MS, 300_000);
});

t.test('a window closes when the watermark passes its end plus the grace', async (t) => {
  const start = new Date('2026-01-01T12:00:00Z');
  t.notOk(isClosed(start, undefined), 'no watermark yet: nothing is closed');
  t.notOk(isClosed(start, new Date(start.getTime() + WINDOW_MS + GRACE_MS - 1)));
  t.ok(isClosed(start, new Date(start.getTime() + WINDOW_MS + GRACE_MS)));
});

t.test('the watermark only moves forward, and never far past the wall clock', async (t) => {
  const now = new Date('2026-01-01T12:00:00Z');
  const a = advanceWatermark(undefined, new Date('2026-01-01T11:00:00Z'), now);
  t.equal(a.toISOString(), '2026-01-01T11:00:00.000Z');
  t.equal(
    advanceWatermark(a, new Date('2026-01-01T10:00:00Z'), now),
    a,
    'an older event does not move it back',
  );
  const future = advanceWatermark(a, new Date('2027-01-01T00:00:00Z'), now);
  t.equal(future.getTime(), now.getTime() + MAX_CLOCK_SKEW_MS, 'a producer with a wrong clock is capped');
});
