import { HeadObjectCommand, NotFound } from '@aws-sdk/client-s3';
import { receiptKey } from '@cloudcafe/contracts';
import {
  buildServiceApp,
  CafeError,
  callDependency,
  errorResponses,
  type FlagState,
  type ServiceApp,
  SetFlagBody,
} from '@cloudcafe/kit';
import Type from 'typebox';
import { coldStartScenario } from './cold-start.js';
import type { FrontConfig } from './config.js';
import { PaymentLedger } from './ledger.js';
import { RuntimeClient } from './runtime-client.js';

/**
 * The payment service's HTTP front — API Gateway's part on AWS: it reads the ledger the Lambda
 * writes, and drives the cold-start stress through the local Lambda runtime. It never charges:
 * charging happens only in the Lambda, from the queue.
 *
 * The two Lambda fault flags are forwarded to the runtime (they act on invocations, which
 * happen there); every other flag is the front's own. The forwarding routes are static, so
 * Fastify prefers them to the kit's `/admin/flags/:name`.
 */

const OrderParams = Type.Object({
  orderId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[\\w:.-]+$' }),
});

const LedgerView = Type.Object({
  orderId: Type.String(),
  customerId: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  status: Type.Union([Type.Literal('charging'), Type.Literal('charged'), Type.Literal('declined')]),
  requestedAt: Type.String(),
  claimedAt: Type.String(),
  attempts: Type.Integer({ description: 'Gateway calls made; above 1 when a delivery resumed a claim' }),
  chargeId: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  fraudScore: Type.Optional(Type.Number()),
  completedAt: Type.Optional(Type.String()),
  receipt: Type.Object({ key: Type.String(), present: Type.Boolean() }),
});

const LAMBDA_FLAGS = ['lambda-delay', 'lambda-error'] as const;

export async function buildApp(config: FrontConfig): Promise<ServiceApp> {
  const runtime = new RuntimeClient(config.PAYMENT_RUNTIME_URL, config.ADMIN_TOKEN);
  let built: ServiceApp | undefined;
  const aws = () => {
    if (!built) throw new CafeError('CAFE_ERR_UNAVAILABLE', 'starting');
    return built.aws;
  };
  let ledger: PaymentLedger | undefined;
  const theLedger = () => {
    ledger ??= new PaymentLedger(aws().documentClient, config.PAYMENTS_TABLE);
    return ledger;
  };
  // The front's own dependency calls go through the kit's callDependency: they honour the
  // dependency-* flags (the Lambda's are faulted through lambda-* flags and link faults
  // instead), and a failing or slow AWS API answers 502/504 with a stable code, never a 500.
  const dependency = <T>(name: string, call: () => Promise<T>) => {
    if (!built) throw new CafeError('CAFE_ERR_UNAVAILABLE', 'starting');
    return callDependency(built, name, call);
  };
  const receiptPresent = (orderId: string) =>
    dependency('s3', async () => {
      try {
        await aws().s3.send(
          new HeadObjectCommand({ Bucket: config.RECEIPTS_BUCKET, Key: receiptKey(orderId) }),
        );
        return true;
      } catch (error) {
        if (error instanceof NotFound || (error as { name?: string }).name === 'NotFound') return false;
        throw error;
      }
    });

  const app = await buildServiceApp({
    service: 'payment',
    config,
    scenarios: [
      coldStartScenario({
        sqs: () => aws().sqs,
        ledger: theLedger,
        runtime,
        requestsQueueUrl: config.PAYMENT_REQUESTS_QUEUE_URL,
      }),
    ],
    routes: async (api) => {
      for (const flag of LAMBDA_FLAGS) {
        const path = `/admin/flags/${flag}`;
        const forward = async (method: string, body?: unknown) => {
          const answer = await runtime.call(method, path, body);
          return { status: answer.status, body: answer.body };
        };
        const admin = { onRequest: api.requireAdmin, config: { cafeAdmin: true } };
        api.get(path, admin, async (_request, reply) => {
          const { status, body } = await forward('GET');
          return reply.code(status).send(body);
        });
        api.put(path, { ...admin, schema: { body: SetFlagBody } }, async (request, reply) => {
          const { status, body } = await forward('PUT', request.body);
          return reply.code(status).send(body);
        });
        api.delete(path, admin, async (_request, reply) => {
          const { status, body } = await forward('DELETE');
          return reply.code(status).send(body);
        });
      }

      api.get(
        '/:orderId',
        {
          schema: {
            params: OrderParams,
            // 502/503/504: the ledger (DynamoDB) or the receipts (S3) failed or timed out.
            response: { 200: LedgerView, ...errorResponses(400, 404, 502, 503, 504) },
          },
        },
        async (request) => {
          const { orderId } = request.params;
          const entry = await dependency('dynamodb', () => theLedger().get(orderId));
          if (!entry) throw new CafeError('CAFE_ERR_NOT_FOUND', `no payment for order ${orderId}`);
          return { ...entry, receipt: { key: receiptKey(orderId), present: await receiptPresent(orderId) } };
        },
      );
    },
  });
  built = app;
  // The kit's flag list is the front's own store; the lambda flags in it are replaced by the
  // runtime's, so the list tells the truth about the faults that are acting.
  app.addHook('onSend', async (request, reply, payload) => {
    const isList = request.method === 'GET' && request.routeOptions.url === `${app.cafe.prefix}/admin/flags`;
    if (!isList || reply.statusCode !== 200 || !runtime.available || typeof payload !== 'string')
      return payload;
    const remote = await runtime.call('GET', '/admin/flags').catch(() => undefined);
    const remoteFlags = (remote?.body as { flags?: FlagState[] } | undefined)?.flags ?? [];
    const listed = JSON.parse(payload) as { flags: FlagState[] };
    listed.flags = listed.flags.map((flag) =>
      (LAMBDA_FLAGS as readonly string[]).includes(flag.name)
        ? (remoteFlags.find((r) => r.name === flag.name) ?? flag)
        : flag,
    );
    return JSON.stringify(listed);
  });
  app.health.register('dynamodb', () => theLedger().get('health-check'));
  return app;
}
