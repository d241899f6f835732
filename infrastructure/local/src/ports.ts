/**
 * Every port the local lab uses, in one place. All listen on 127.0.0.1 only. The engines use
 * private ports so that a PostgreSQL or Redis already running on this machine is not touched.
 */
export const HOST = '127.0.0.1';

export const PORTS = {
  gateway: 8080,
  supervisor: 8079,
  toxiproxy: 8474,
  aws: 4566,
  postgres: 15432,
  redis: 16379,
  mongo: 27018,
  paymentGatewaySimulator: 8090,
} as const;

/** Where each service listens directly; the public way in is the gateway on 8080. */
export const SERVICE_PORTS = {
  order: 3001,
  inventory: 3002,
  payment: 3003,
  menu: 3004,
  loyalty: 3005,
  analytics: 3006,
  placeholder: 3009,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

/** Toxiproxy listens for the links from this port upwards (see links.ts). */
export const LINK_PORT_BASE = 21000;
