import t from 'tap';
import { readSettings, SettingsError } from '../src/config.js';

const context = (values: Record<string, unknown>) => (key: string) => values[key];

t.test('the payment gateway URL is optional, and must be https when given', async (t) => {
  t.equal(
    readSettings(context({})).paymentGatewayUrl,
    undefined,
    'absent: the Lambda refuses to start, naming it',
  );
  t.equal(
    readSettings(context({ paymentGatewayUrl: 'https://pay.example.com' })).paymentGatewayUrl,
    'https://pay.example.com',
  );
  t.throws(() => readSettings(context({ paymentGatewayUrl: 'http://pay.example.com' })), SettingsError);
});

t.test('an unknown size is refused with the key named', async (t) => {
  t.throws(() => readSettings(context({ size: 'huge' })), /context "size" must be one of/);
});
