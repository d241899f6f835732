import t from 'tap';
import { createAdminAuth } from '../src/admin-auth.js';
import { CafeError } from '../src/errors.js';

const TOKEN = 'the-right-token-0123456789';

t.test('accepts the bearer token and nothing else', async (t) => {
  const auth = createAdminAuth(TOKEN);

  t.ok(auth.verify(`Bearer ${TOKEN}`));
  t.ok(auth.verify(`bearer ${TOKEN}`), 'the scheme is case-insensitive');
  t.notOk(auth.verify(undefined));
  t.notOk(auth.verify(''));
  t.notOk(auth.verify(TOKEN), 'without the Bearer scheme');
  t.notOk(auth.verify(`Basic ${TOKEN}`));
  t.notOk(auth.verify(`Bearer ${TOKEN}x`));
  t.notOk(auth.verify(`Bearer ${TOKEN.slice(0, -1)}`), 'a prefix of the token');
  t.notOk(auth.verify('Bearer '));
});

t.test('assert throws CAFE_ERR_UNAUTHORIZED (401)', async (t) => {
  const auth = createAdminAuth(TOKEN);

  t.throws(() => auth.assert('Bearer wrong'), { code: 'CAFE_ERR_UNAUTHORIZED', statusCode: 401 });
  t.doesNotThrow(() => auth.assert(`Bearer ${TOKEN}`));
  try {
    auth.assert(undefined);
  } catch (err) {
    t.ok(err instanceof CafeError);
  }
});

t.test('an empty admin token is refused at construction', async (t) => {
  t.throws(() => createAdminAuth(''));
});
