import type { LabPaths, ProcessSpec } from '../engines/types.js';
import { HOST, PORTS } from '../ports.js';
import { httpOk } from '../probes.js';
import type { ServiceDefinition } from '../topology.js';

/**
 * How the lab runs a service's Lambda: a supervised process of its own, `<service>-runtime`,
 * with the service's environment (its links to SQS, DynamoDB, S3 and the payment gateway, so
 * link faults hit the function as they would on AWS) and the runtime's admin port. The HTTP
 * front learns where the runtime is from `PAYMENT_RUNTIME_URL`.
 */
export function lambdaRuntimeFor(
  service: ServiceDefinition,
  serviceEnv: Readonly<Record<string, string>>,
  paths: LabPaths,
): { process: ProcessSpec; frontEnv: Record<string, string> } | undefined {
  if (!service.lambda) return undefined;
  const port = PORTS.lambdaRuntime;
  const url = `http://${HOST}:${port}`;
  return {
    process: {
      name: `${service.name}-runtime`,
      kind: 'service',
      command: process.execPath,
      args: ['--import', 'tsx', 'platforms/local/src/lambda-runtime/main.ts'],
      cwd: paths.root,
      env: {
        ...serviceEnv,
        PORT: String(port),
        LAMBDA_HANDLER: service.lambda.handler,
        LAMBDA_FUNCTION_NAME: service.lambda.functionName,
      },
      port,
      ready: () => httpOk(`${url}/api/payments/health`),
      startTimeoutMs: 60_000,
    },
    frontEnv: { PAYMENT_RUNTIME_URL: url },
  };
}
