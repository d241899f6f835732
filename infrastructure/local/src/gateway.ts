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

export function createGateway(isPresent: (service: ServiceName) => boolean): Server {
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
    upstream.on('error', (error) =>
      sendError(res, 502, 'CAFE_ERR_UPSTREAM_UNAVAILABLE', `${service} is unavailable: ${error.message}`),
    );
    req.pipe(upstream);
  });
  // Keep-alive from k6 is the norm; a generous timeout stops idle sockets piling up.
  server.keepAliveTimeout = 65_000;
  return server;
}
