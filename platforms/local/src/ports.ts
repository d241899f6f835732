import { CAFE_SERVICES, type CafeService, SERVICE_REGISTRY } from '@cloudcafe/contracts';
/**
 * Every port the local lab uses, in one place. All listen on 127.0.0.1 only. The engines use
 * private ports so that a PostgreSQL or Redis already running on this machine is not touched.
 */
export const HOST = '127.0.0.1';

/**
 * `CLOUDCAFE_PORT_OFFSET` shifts every port of the lab, so two labs can run on one machine (a
 * developer's and a CI run, say). Default 0: the gateway is on 8080 as the README says.
 */
export const PORT_OFFSET = parseOffset(process.env.CLOUDCAFE_PORT_OFFSET);

function parseOffset(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000) {
    throw new Error(`CLOUDCAFE_PORT_OFFSET: must be an integer from 0 to 10000, got "${raw}"`);
  }
  return offset;
}

const shifted = <T extends Record<string, number>>(ports: T): { readonly [K in keyof T]: number } =>
  Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, v + PORT_OFFSET])) as {
    [K in keyof T]: number;
  };

export const PORTS = shifted({
  gateway: 8080,
  supervisor: 8079,
  toxiproxy: 8474,
  aws: 4566,
  /** DynamoDB (dynalite): an engine of its own, see engines/aws.ts. */
  dynamodb: 4586,
  postgres: 15432,
  redis: 16379,
  mongo: 27018,
  paymentGatewaySimulator: 8090,
  /** The local Lambda runtime's admin API (the payment function). */
  lambdaRuntime: 8091,
});

/** Where each service listens directly (the registry's ports, shifted); the public way in is the gateway. */
export const SERVICE_PORTS = shifted(
  Object.fromEntries(CAFE_SERVICES.map((s) => [s, SERVICE_REGISTRY[s].port])) as Record<CafeService, number>,
);

export type ServiceName = keyof typeof SERVICE_PORTS;

/**
 * The real Kubernetes control plane the Kubernetes driver's tests start (chaos/test/support/
 * kube-control-plane.ts): high ports, shifted like the lab's so two runs can share a machine,
 * and below Linux's ephemeral range (32768 up), where any outgoing connection may hold one.
 */
export const KUBE_CONTROL_PLANE_PORTS = shifted({
  etcdClient: 24379,
  etcdPeer: 24380,
  apiServer: 24443,
  controllerManager: 24257,
  scheduler: 24259,
  kwok: 24247,
});

/** Toxiproxy listens for the links from this port upwards (see topology.ts). */
export const LINK_PORT_BASE = 21000 + PORT_OFFSET;
