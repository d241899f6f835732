import { PAYMENT_MAX_RECEIVE_COUNT } from '@cloudcafe/contracts';
import t from 'tap';
import { nextDeduplicationId, retryGeneration, shouldRequeue } from '../src/retry.js';

const requestedAt = '2026-12-01T12:00:00.000Z';
const at = (seconds: number) => Date.parse(requestedAt) + seconds * 1000;
const receive = (n: number) => ({ attributes: { ApproximateReceiveCount: String(n) } }) as never;

t.test('a transient failure is re-queued only when the next failed receive would dead-letter', async (t) => {
  for (let n = 1; n < PAYMENT_MAX_RECEIVE_COUNT - 1; n++) {
    t.notOk(shouldRequeue(receive(n), { requestedAt }, 600, at(5)), `receive ${n}: SQS retries it`);
  }
  t.ok(
    shouldRequeue(receive(PAYMENT_MAX_RECEIVE_COUNT - 1), { requestedAt }, 600, at(5)),
    'the last but one',
  );
  t.ok(shouldRequeue(receive(PAYMENT_MAX_RECEIVE_COUNT), { requestedAt }, 600, at(5)), 'the last one');
});

t.test('past the retry window the failure is let through to the DLQ', async (t) => {
  const last = receive(PAYMENT_MAX_RECEIVE_COUNT);
  t.ok(shouldRequeue(last, { requestedAt }, 600, at(599)));
  t.notOk(shouldRequeue(last, { requestedAt }, 600, at(600)), 'the window is measured from requestedAt');
  t.notOk(shouldRequeue(last, { requestedAt: 'not a date' }, 600, at(1)), 'no date, no endless loop');
});

t.test(
  'each copy has its own deduplication id, the same for a repeated re-queue of one delivery',
  async (t) => {
    t.equal(retryGeneration('o-1'), 0, "the relay's own message");
    t.equal(nextDeduplicationId('o-1', 'o-1'), 'o-1:retry-1');
    t.equal(nextDeduplicationId('o-1', 'o-1:retry-1'), 'o-1:retry-2');
    t.equal(
      nextDeduplicationId('o-1', 'o-1:retry-1'),
      'o-1:retry-2',
      'deterministic: FIFO dedup drops the repeat',
    );
    t.ok(nextDeduplicationId('o'.repeat(64), 'x:retry-999').length <= 128, 'within the SQS limit');
  },
);
