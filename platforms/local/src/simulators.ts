import type { LabPaths, ProcessSpec } from './engines/types.js';
import { adminTokenFile } from './paths.js';
import { HOST, PORTS } from './ports.js';
import { httpOk } from './probes.js';

/**
 * The payment gateway is an external system; locally a simulator stands in for it, behind
 * Toxiproxy like everything else, with its failure rate and latency as fault flags.
 */
export function paymentGatewaySimulator(paths: LabPaths): ProcessSpec {
  return {
    name: 'payment-gateway',
    kind: 'tool',
    command: process.execPath,
    args: ['--import', 'tsx', 'platforms/local/src/payment-gateway-simulator/server.ts'],
    cwd: paths.root,
    env: {
      SERVICE_NAME: 'payment-gateway',
      PORT: String(PORTS.paymentGatewaySimulator),
      HOST,
      ADMIN_TOKEN_FILE: adminTokenFile(paths),
      // an external system: its metrics are not CloudCafe's to publish
      METRICS_CLOUDWATCH: 'off',
    },
    port: PORTS.paymentGatewaySimulator,
    ready: () => httpOk(`http://${HOST}:${PORTS.paymentGatewaySimulator}/api/payment-gateway/health`),
  };
}
