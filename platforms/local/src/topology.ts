import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ORDERS_DATABASE } from '@cloudcafe/contracts';
import { AWS_ENDPOINTS, localAwsEnv } from './engines/aws.js';
import { pgUrl } from './engines/postgres.js';
import type { LabPaths } from './engines/types.js';
import { HOST, LINK_PORT_BASE, PORTS, SERVICE_PORTS, type ServiceName } from './ports.js';

/**
 * What talks to what in the local lab. Every arrow here is a Toxiproxy link, so any of them can
 * be slowed or cut by name (`order-to-postgres`, `payment-to-payment-gateway`, …).
 */

/** The AWS APIs a service may call; each gets its own link so SQS can fail while S3 works. */
export const AWS_APIS = ['sqs', 'dynamodb', 'kinesis', 's3'] as const;
export type AwsApi = (typeof AWS_APIS)[number];

export type Dependency = 'postgres' | 'redis' | 'mongo' | 'payment-gateway' | AwsApi | ServiceName;

export interface ServiceDefinition {
  readonly name: ServiceName;
  /** The server entry, relative to the repo root; a service is in the lab once this exists. */
  readonly entry: string;
  /** Its PostgreSQL database, when it depends on postgres. */
  readonly database?: string;
  readonly dependsOn: readonly Dependency[];
  /** A Lambda function of the service, run by the local Lambda runtime as its own process. */
  readonly lambda?: { readonly handler: string; readonly functionName: string };
}

/**
 * The services of the lab, with what each one calls. A service joins the lab once its entry
 * file exists.
 */
export const SERVICES: readonly ServiceDefinition[] = [
  { name: 'inventory', entry: 'services/inventory/src/server.ts', dependsOn: ['dynamodb', 'redis'] },
  {
    name: 'order',
    entry: 'services/order/src/server.ts',
    database: ORDERS_DATABASE,
    dependsOn: ['postgres', 'inventory', 'sqs', 'kinesis'],
  },
  {
    name: 'payment',
    entry: 'services/payment/src/server.ts',
    dependsOn: ['sqs', 'dynamodb', 's3', 'payment-gateway'],
    lambda: { handler: 'services/payment/src/handler.ts', functionName: 'cloudcafe-payment' },
  },
  { name: 'menu', entry: 'services/menu/src/server.ts', dependsOn: ['mongo', 'redis'] },
  { name: 'loyalty', entry: 'services/loyalty/src/server.ts', dependsOn: ['redis', 'kinesis'] },
  {
    name: 'analytics',
    entry: 'services/analytics/src/server.ts',
    database: 'cloudcafe_warehouse',
    dependsOn: ['postgres', 'kinesis'],
  },
];

/**
 * Services whose code is present in this checkout, narrowed to `CLOUDCAFE_SERVICES` (a comma
 * list) when it is set — to work on one service without starting the others.
 */
export function presentServices(paths: LabPaths, only = process.env.CLOUDCAFE_SERVICES): ServiceDefinition[] {
  const wanted = only ? new Set(only.split(',').map((s) => s.trim())) : undefined;
  const unknown = [...(wanted ?? [])].filter((name) => !SERVICES.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `CLOUDCAFE_SERVICES: unknown service ${unknown.join(', ')}; known: ${SERVICES.map((s) => s.name).join(', ')}`,
    );
  }
  return SERVICES.filter((s) => existsSync(join(paths.root, s.entry)) && (!wanted || wanted.has(s.name)));
}

export interface Link {
  /** Toxiproxy proxy name: `<from>-to-<to>`. */
  readonly name: string;
  readonly from: ServiceName;
  readonly to: Dependency;
  /** Where Toxiproxy listens for this link. */
  readonly listenPort: number;
  /** Where the real dependency listens. */
  readonly upstreamPort: number;
}

function upstreamPort(dep: Dependency): number {
  switch (dep) {
    case 'postgres':
      return PORTS.postgres;
    case 'redis':
      return PORTS.redis;
    case 'mongo':
      return PORTS.mongo;
    case 'payment-gateway':
      return PORTS.paymentGatewaySimulator;
    case 'sqs':
    case 'dynamodb':
    case 'kinesis':
    case 's3':
      return AWS_ENDPOINTS[dep];
    default:
      return SERVICE_PORTS[dep];
  }
}

export const linkName = (from: string, to: string): string => `${from}-to-${to}`;

/** Every link of the given services, with listen ports numbered in declaration order. */
export function linksFor(services: readonly ServiceDefinition[]): Link[] {
  const links: Link[] = [];
  for (const service of services) {
    for (const dep of service.dependsOn) {
      links.push({
        name: linkName(service.name, dep),
        from: service.name,
        to: dep,
        listenPort: LINK_PORT_BASE + links.length,
        upstreamPort: upstreamPort(dep),
      });
    }
  }
  return links;
}

/** The environment a service gets: every dependency address points at its Toxiproxy link. */
export function serviceEnv(
  service: ServiceDefinition,
  links: readonly Link[],
  paths: LabPaths,
  secrets: { readonly adminTokenFile: string; readonly serviceTokenFile: string },
): Record<string, string> {
  const env: Record<string, string> = {
    SERVICE_NAME: service.name,
    HOST,
    PORT: String(SERVICE_PORTS[service.name]),
    PLATFORM: 'local',
    // Secrets by file, never inline: a value in the environment or the arguments of a process
    // is readable by anything that can list processes of this user.
    ADMIN_TOKEN_FILE: secrets.adminTokenFile,
    SERVICE_TOKEN_FILE: secrets.serviceTokenFile,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // Anything without its own link (CloudWatch metrics) goes straight to the emulator.
    ...localAwsEnv(),
    // moto serves buckets by path, not by virtual-host subdomains of 127.0.0.1
    AWS_S3_FORCE_PATH_STYLE: 'on',
    CLOUDCAFE_STATE_DIR: paths.stateDir,
    // the SDK's Node 22 notice, once per process start, says nothing the README does not
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const link of links.filter((l) => l.from === service.name)) {
    const dep = link.to;
    const address = `${HOST}:${link.listenPort}`;
    if (dep === 'postgres') env.DATABASE_URL = pgUrl(service.database ?? 'postgres', link.listenPort);
    else if (dep === 'redis') env.REDIS_URL = `redis://${address}`;
    else if (dep === 'mongo') env.MONGO_URL = `mongodb://${address}/cloudcafe`;
    else if (dep === 'payment-gateway') env.PAYMENT_GATEWAY_URL = `http://${address}`;
    else if ((AWS_APIS as readonly string[]).includes(dep))
      env[`AWS_ENDPOINT_URL_${dep.toUpperCase()}`] = `http://${address}`;
    else env[`${dep.toUpperCase()}_URL`] = `http://${address}`;
  }
  return env;
}
