import type { LabPaths, ProcessSpec } from './engines/types.js';
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
    args: ['--import', 'tsx', 'infrastructure/local/src/payment-gateway-simulator/server.ts'],
    cwd: paths.root,
    env: { PORT: String(PORTS.paymentGatewaySimulator), HOST },
    port: PORTS.paymentGatewaySimulator,
    ready: () => httpOk(`http://${HOST}:${PORTS.paymentGatewaySimulator}/health`),
  };
}
