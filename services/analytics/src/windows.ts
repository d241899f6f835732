/**
 * Windowing rules, in one place (docs/adr/0008 quotes them).
 *
 * - Tumbling 5-minute windows by event time (`occurredAt`), aligned to the epoch:
 *   [12:00, 12:05), [12:05, 12:10), …
 * - The watermark is the latest event time seen on any shard, never ahead of the wall clock by
 *   more than {@link MAX_CLOCK_SKEW_MS} (a producer with a wrong clock cannot close every window).
 * - A window is closed once the watermark passes its end plus {@link GRACE_MS}.
 * - Late events (their window already closed) are never dropped: they amend their own window
 *   and are counted in its `late_events`, so totals always reconcile with confirmed orders;
 *   a closed window's figures can therefore be revised, and `updated_at` says when.
 */
export const WINDOW_MS = 5 * 60_000;
export const GRACE_MS = 60_000;
export const MAX_CLOCK_SKEW_MS = 60_000;

export const windowStart = (eventTime: Date): Date =>
  new Date(Math.floor(eventTime.getTime() / WINDOW_MS) * WINDOW_MS);

export const isClosed = (start: Date, watermark: Date | undefined): boolean =>
  watermark !== undefined && start.getTime() + WINDOW_MS + GRACE_MS <= watermark.getTime();

export function advanceWatermark(current: Date | undefined, eventTime: Date, now = new Date()): Date {
  const capped = Math.min(eventTime.getTime(), now.getTime() + MAX_CLOCK_SKEW_MS);
  return current && current.getTime() >= capped ? current : new Date(capped);
}
