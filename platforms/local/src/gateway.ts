import { createServer, request, type Server, type ServerResponse } from 'node:http';
import { SERVICES } from '@cloudcafe/kit';
import { HOST, SERVICE_PORTS, type ServiceName } from './ports.js';

/**
 * The lab's front door on 127.0.0.1:8080: `/api/<svc>/…` goes to that service, as the ALB /
 * API Gateway routes do on AWS. When a service is down (killed by a fault) the gateway says so
 * with a 502 and a stable code, which is exactly what a load test should see.
 */

/** `orders` → order: the public path segment of every service in the lab, from the kit's list. */
export const ROUTES: Readonly<Record<string, ServiceName>> = Object.fromEntries(
  (Object.keys(SERVICE_PORTS) as ServiceName[]).map((name) => [SERVICES[name].segment, name]),
);

/** The inverse: the public path segment each service answers under (`order` → `orders`). */
export const PUBLIC_PATHS = Object.fromEntries(
  (Object.keys(SERVICE_PORTS) as ServiceName[]).map((name) => [name, SERVICES[name].segment]),
) as Readonly<Record<ServiceName, string>>;

export function routeOf(url: string): ServiceName | undefined {
  const match = /^\/api\/([a-z-]+)(?:[/?]|$)/.exec(url);
  return match?.[1] ? ROUTES[match[1]] : undefined;
}

function sendError(res: ServerResponse, status: number, code: string, message: string) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * How long the gateway waits on a silent upstream (no byte either way) before it answers 504,
 * like an ALB's idle timeout (60 s by default there). Above the order service's own inventory
 * timeout (15 s), so a slow dependency is reported by the service, with its code, not by us.
 */
export const GATEWAY_UPSTREAM_TIMEOUT_MS = 30_000;

export function createGateway(
  isPresent: (service: ServiceName) => boolean,
  options: { upstreamTimeoutMs?: number } = {},
): Server {
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? GATEWAY_UPSTREAM_TIMEOUT_MS;
  const server = createServer((req, res) => {
    const service = routeOf(req.url ?? '/');
    if (!service || !isPresent(service)) {
      sendError(res, 404, 'CAFE_ERR_NOT_FOUND', `no service answers ${req.url}`);
      return;
    }
    const upstream = request(
      {
        host: HOST,
        port: SERVICE_PORTS[service],
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    // A paused (SIGSTOPped) service accepts connections and never answers: without a bound,
    // every request to it would hold a socket on both sides until the client gave up.
    upstream.setTimeout(upstreamTimeoutMs, () => {
      sendError(
        res,
        504,
        'CAFE_ERR_UPSTREAM_TIMEOUT',
        `${service} did not answer within ${upstreamTimeoutMs} ms`,
      );
      upstream.destroy();
    });
    upstream.on('error', (error) =>
      sendError(res, 502, 'CAFE_ERR_UPSTREAM_UNAVAILABLE', `${service} is unavailable: ${error.message}`),
    );
    // A client that goes away takes its upstream request with it, as an ALB does; otherwise a
    // load test's abandoned requests pile up on the service behind a fault.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  // Keep-alive from k6 is the norm; a generous timeout stops idle sockets piling up.
  server.keepAliveTimeout = 65_000;
  return server;
}
