import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { charge, GatewayRefusedError, GatewayUnavailableError } from '../src/gateway-client.js';

// A stand-in card processor on a free loopback port answering one fixed status: how each
// answer sorts decides whether a payment is retried (and re-queued) or dead-lettered.

async function gatewayAnswering(status: number, body: unknown = {}): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const request = { orderId: 'o-1', customerId: 'c-1', amountCents: 450, currency: 'USD' };

t.test('a refusal of the request itself is not retryable', async (t) => {
  for (const status of [400, 403, 404, 422]) {
    await t.rejects(charge(await gatewayAnswering(status), request, 1000), GatewayRefusedError, `${status}`);
  }
});

t.test('an outage, a rate limit or a conflict is retried', async (t) => {
  for (const status of [500, 502, 503, 408, 409, 429]) {
    await t.rejects(
      charge(await gatewayAnswering(status), request, 1000),
      GatewayUnavailableError,
      `${status}`,
    );
  }
});

t.test('a decline is a result, not a failure', async (t) => {
  const answer = await charge(await gatewayAnswering(402, { declineReason: 'card_declined' }), request, 1000);
  t.same(answer, { kind: 'declined', reason: 'card_declined' });
});
