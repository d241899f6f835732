import t from 'tap';
import { CafeError, ERROR_CODES, toErrorAnswer } from '../src/errors.js';
import { SchemaValidationError } from '../src/validation.js';

t.test('every code is CAFE_ERR_… with a 4xx or 5xx status', async (t) => {
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    t.match(code, /^CAFE_ERR_[A-Z_]+$/);
    t.ok(status >= 400 && status < 600, `${code}: ${status}`);
  }
});

t.test('a CafeError answers its code, status and message', async (t) => {
  const answer = toErrorAnswer(new CafeError('CAFE_ERR_OUT_OF_STOCK', 'sku latte: 2 requested, 0 left'));

  t.same(answer, {
    statusCode: 409,
    body: { error: { code: 'CAFE_ERR_OUT_OF_STOCK', message: 'sku latte: 2 requested, 0 left' } },
    headers: {},
  });
});

t.test('a load refusal tells the client when to come back (Retry-After)', async (t) => {
  const answer = toErrorAnswer(
    new CafeError('CAFE_ERR_RATE_LIMITED', 'the stock lane is full', { retryAfterSeconds: 2 }),
  );

  t.equal(answer.statusCode, 429);
  t.same(answer.headers, { 'retry-after': '2' });
});

t.test('client mistakes reported by body parsers stay 4xx', async (t) => {
  const cases: [unknown, number, string][] = [
    [{ type: 'entity.parse.failed', status: 400 }, 400, 'CAFE_ERR_MALFORMED_BODY'],
    [{ type: 'entity.too.large', status: 413 }, 413, 'CAFE_ERR_PAYLOAD_TOO_LARGE'],
    [{ type: 'encoding.unsupported', status: 415 }, 415, 'CAFE_ERR_UNSUPPORTED_MEDIA_TYPE'],
    [{ type: 'request.aborted', status: 400, message: 'request aborted' }, 400, 'CAFE_ERR_BAD_REQUEST'],
    [
      { code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400, message: 'bad length' },
      400,
      'CAFE_ERR_BAD_REQUEST',
    ],
    [{ statusCode: 431, message: 'headers too large' }, 400, 'CAFE_ERR_BAD_REQUEST'],
    [new SchemaValidationError([{ field: 'body.x', problem: 'is required' }]), 400, 'CAFE_ERR_VALIDATION'],
  ];
  for (const [err, status, code] of cases) {
    const answer = toErrorAnswer(err);
    t.equal(answer.statusCode, status, code);
    t.equal(answer.body.error.code, code);
  }
});

t.test('anything else is a 500 that does not leak its message', async (t) => {
  for (const err of [
    new Error('password=hunter2'),
    'a string',
    null,
    { statusCode: 503, message: 'upstream' },
  ]) {
    t.same(toErrorAnswer(err), {
      statusCode: 500,
      body: { error: { code: 'CAFE_ERR_INTERNAL', message: 'internal error' } },
      headers: {},
    });
  }
});
