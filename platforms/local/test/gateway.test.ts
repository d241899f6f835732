import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';

// The gateway alone, against a stand-in upstream that accepts and never answers (what a
// SIGSTOPped service does). The gateway routes to the lab's service ports, so this file shifts
// them with its own offset before loading it: it never touches a running lab's ports.
process.env.CLOUDCAFE_PORT_OFFSET = String(9000 + (process.pid % 500));
const { createGateway } = await import('../src/gateway.js');
const { HOST, SERVICE_PORTS } = await import('../src/ports.js');

async function listen(t: Test, server: Server, port: number): Promise<string> {
  server.listen(port, HOST);
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://${HOST}:${(server.address() as AddressInfo).port}`;
}

/** An "order service" that takes every request and answers none; it reports each one's end. */
async function silentUpstream(t: Test) {
  const requests: IncomingMessage[] = [];
  const closed: string[] = [];
  const server = createServer((req) => {
    requests.push(req);
    req.socket.on('close', () => closed.push(req.url ?? ''));
  });
  await listen(t, server, SERVICE_PORTS.order);
  return { requests, closed };
}

async function gateway(t: Test, upstreamTimeoutMs: number): Promise<string> {
  return listen(
    t,
    createGateway((name) => name === 'order', { upstreamTimeoutMs }),
    0,
  );
}

const until = async (what: string, condition: () => boolean) => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!condition()) throw new Error(`never happened: ${what}`);
};

t.test('a silent upstream is answered 504 with a stable code, and its request is dropped', async (t) => {
  const upstream = await silentUpstream(t);
  const base = await gateway(t, 300);

  const res = await fetch(`${base}/api/orders/slow`);

  t.equal(res.status, 504);
  t.match(await res.json(), {
    error: { code: 'CAFE_ERR_UPSTREAM_TIMEOUT', message: /order did not answer/ },
  });
  await until('the upstream request to be closed', () => upstream.closed.includes('/api/orders/slow'));
  t.pass('the gateway closed its upstream request');
});

t.test('a client that goes away takes its upstream request with it', async (t) => {
  const upstream = await silentUpstream(t);
  // A long timeout: only the client's leaving can end the upstream request here.
  const base = await gateway(t, 600_000);
  const client = new AbortController();

  const pending = fetch(`${base}/api/orders/abandoned`, { signal: client.signal }).catch((e: Error) => e);
  await until('the upstream to see the request', () => upstream.requests.length === 1);
  client.abort();

  t.match(await pending, { name: 'AbortError' });
  await until('the upstream request to be closed', () => upstream.closed.includes('/api/orders/abandoned'));
  t.pass('no socket is left waiting on the upstream');
});
