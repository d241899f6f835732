import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawServerDefault,
} from 'fastify';
import type { AwsClients } from '../aws.js';
import type { KitConfig } from '../config.js';
import type { FlagStore } from '../flags/store.js';
import type { Health } from '../health.js';
import type { Metrics } from '../metrics/registry.js';
import type { ServiceName } from '../services.js';
import type { Shutdown } from '../shutdown.js';
import type { StressHarness } from '../stress.js';

/** Which service an app is and where its routes live. */
export interface ServiceIdentity {
  service: ServiceName;
  /** `/api/<segment>`: every route of the service lives under it. */
  prefix: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration (cafe-config). */
    config: KitConfig;
    /** The service name and route prefix (cafe-config). */
    cafe: ServiceIdentity;
    /** Lazily created AWS clients (cafe-aws). */
    aws: AwsClients;
    /** The typed metrics registry (cafe-metrics). */
    metrics: Metrics;
    /** Dependency checks and readiness (cafe-health). */
    health: Health;
    /** The fault flags of this instance (cafe-flags). */
    flags: FlagStore;
    /** The stress harness of this instance (cafe-stress). */
    stress: StressHarness;
    /** The ordered graceful shutdown (cafe-shutdown). */
    shutdown: Shutdown;
    /** An onRequest hook answering 401 unless the admin token is presented (cafe-admin-auth). */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** An onRequest hook answering 401 unless the service credential (or admin token) is presented. */
    requireService: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyContextConfig {
    /** Marks an admin route, for the OpenAPI document. */
    cafeAdmin?: boolean;
    /** Marks an internal (service-to-service) route, for the OpenAPI document. */
    cafeInternal?: boolean;
  }
}

/** A Fastify instance built by `buildServiceApp`: TypeBox type provider, kit decorations. */
export type ServiceApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
