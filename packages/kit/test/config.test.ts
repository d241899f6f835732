import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import Type from 'typebox';
import { ConfigError, loadConfig } from '../src/config.js';

const minimal = { SERVICE_NAME: 'order', PORT: '3001', ADMIN_TOKEN: 'a'.repeat(32) };

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('applies defaults and coerces numbers', async (t) => {
  const config = loadConfig(undefined, minimal);

  t.equal(config.PORT, 3001);
  t.equal(config.HOST, '127.0.0.1');
  t.equal(config.PLATFORM, 'local');
  t.equal(config.AWS_REGION, 'us-east-1');
  t.equal(config.METRICS_CLOUDWATCH, 'on');
  t.equal(config.LOG_LEVEL, 'info');
  t.type(config.METRICS_FLUSH_INTERVAL_MS, 'number');
  t.type(config.SHUTDOWN_TIMEOUT_MS, 'number');
});

t.test('an out-of-range PORT names the variable and the rule', async (t) => {
  const err = configError(() => loadConfig(undefined, { ...minimal, PORT: '70000' }));

  t.match(err.message, 'PORT: must be an integer between 1 and 65535');
});

t.test('every offending variable is named in one error', async (t) => {
  const err = configError(() =>
    loadConfig(undefined, {
      SERVICE_NAME: 'coffee-machine',
      PORT: 'eighty',
      PLATFORM: 'mainframe',
      METRICS_FLUSH_INTERVAL_MS: '5',
      SHUTDOWN_TIMEOUT_MS: '999999',
    }),
  );

  t.match(err.message, /SERVICE_NAME: must be one of order, inventory/);
  t.match(err.message, 'PORT: must be an integer between 1 and 65535');
  t.match(err.message, 'PLATFORM: must be one of local, kubernetes, aws');
  t.match(err.message, 'METRICS_FLUSH_INTERVAL_MS: must be an integer between 1000 and 300000');
  t.match(err.message, 'SHUTDOWN_TIMEOUT_MS: must be an integer between 1000 and 120000');
  t.match(err.message, /ADMIN_TOKEN: is required/);
  t.equal(err.problems.length, 6);
});

t.test('a missing required variable is named', async (t) => {
  const { PORT: _port, ...withoutPort } = minimal;
  const err = configError(() => loadConfig(undefined, withoutPort));

  t.match(err.message, 'PORT: is required');
});

t.test('empty variables count as unset', async (t) => {
  const config = loadConfig(undefined, { ...minimal, HOST: '', PLATFORM: '  ' });

  t.equal(config.HOST, '127.0.0.1');
  t.equal(config.PLATFORM, 'local');
});

t.test('a service section is merged, coerced and validated with the base', async (t) => {
  const Extra = Type.Object({
    DATABASE_URL: Type.String({ minLength: 1 }),
    OUTBOX_BATCH: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    RELAY_ENABLED: Type.Boolean({ default: true }),
  });

  const config = loadConfig(Extra, {
    ...minimal,
    DATABASE_URL: 'postgres://x',
    OUTBOX_BATCH: '20',
    RELAY_ENABLED: 'off',
  });
  t.equal(config.OUTBOX_BATCH, 20);
  t.equal(config.RELAY_ENABLED, false);
  t.equal(config.DATABASE_URL, 'postgres://x');

  const err = configError(() => loadConfig(Extra, { ...minimal, OUTBOX_BATCH: '0' }));
  t.match(err.message, 'DATABASE_URL: is required');
  t.match(err.message, 'OUTBOX_BATCH: must be an integer between 1 and 500');
});

t.test('the admin token can come from a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-config-'));
  const file = join(dir, 'admin-token');
  writeFileSync(file, `${'f'.repeat(48)}\n`);
  const { ADMIN_TOKEN: _token, ...withoutToken } = minimal;

  const config = loadConfig(undefined, { ...withoutToken, ADMIN_TOKEN_FILE: file });
  t.equal(config.ADMIN_TOKEN, 'f'.repeat(48));

  const missing = configError(() =>
    loadConfig(undefined, { ...withoutToken, ADMIN_TOKEN_FILE: join(dir, 'nope') }),
  );
  t.match(missing.message, /ADMIN_TOKEN_FILE: cannot read .*nope \(ENOENT\)/);

  const both = configError(() => loadConfig(undefined, { ...minimal, ADMIN_TOKEN_FILE: file }));
  t.match(both.message, 'set only one of ADMIN_TOKEN and ADMIN_TOKEN_FILE');
});

t.test('a short admin token is refused', async (t) => {
  const err = configError(() => loadConfig(undefined, { ...minimal, ADMIN_TOKEN: 'secret' }));

  t.match(err.message, 'ADMIN_TOKEN: must be a string of at least 16 characters');
});
