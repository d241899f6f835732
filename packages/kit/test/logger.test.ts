import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger, REDACTED, withContext } from '../src/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, destination };
}

t.test('every line carries the service', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ service: 'order', destination });

  log.info('hello');

  t.equal(lines[0]?.service, 'order');
  t.equal(lines[0]?.msg, 'hello');
});

t.test('secrets and card data are redacted at any depth', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ service: 'payment', destination });

  log.info(
    {
      req: { headers: { Authorization: 'Bearer abc', 'content-type': 'application/json', cookie: 'sid=1' } },
      order: {
        orderId: 'o-1',
        payment: { card: { number: '4111111111111111', expiry: '12/30', cvv: '123' }, token: 'tok_live' },
      },
      user: { password: 'hunter2', name: 'Ada' },
      items: [{ sku: 'latte', apiKey: 'k-1' }],
    },
    'charging',
  );

  const line = JSON.stringify(lines[0]);
  for (const secret of ['Bearer abc', 'sid=1', '4111111111111111', '"123"', 'tok_live', 'hunter2', 'k-1']) {
    t.notMatch(line, secret, `${secret} does not reach the log`);
  }
  t.match(lines[0], {
    req: { headers: { Authorization: REDACTED, 'content-type': 'application/json' } },
    order: { orderId: 'o-1', payment: { card: { number: REDACTED, expiry: '12/30', cvv: REDACTED } } },
    user: { password: REDACTED, name: 'Ada' },
  });
});

t.test('secrets bound to a child logger are redacted too', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ service: 'order', destination });

  log.child({ token: 'tok_live', requestId: 'r-1' }).info('bound');

  t.equal(lines[0]?.token, REDACTED);
  t.equal(lines[0]?.requestId, 'r-1');
});

t.test('child loggers carry requestId and orderId', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ service: 'order', destination });

  withContext(log, { requestId: 'req-7', orderId: 'ord-9' }).info('accepted');
  withContext(log, { requestId: 'req-8' }).info('listed');

  t.match(lines[0], { service: 'order', requestId: 'req-7', orderId: 'ord-9', msg: 'accepted' });
  t.match(lines[1], { requestId: 'req-8' });
  t.notOk('orderId' in (lines[1] ?? {}));
});

t.test('the level is honoured', async (t) => {
  const { lines, destination } = capture();
  const log = createLogger({ service: 'order', level: 'warn', destination });

  log.info('quiet');
  log.warn('loud');

  t.same(
    lines.map((line) => line.msg),
    ['loud'],
  );
});
