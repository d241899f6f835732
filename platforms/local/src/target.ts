import { readFileSync } from 'node:fs';
import type { Target } from '@cloudcafe/chaos-interface';
import { ORDERS_DATABASE } from '@cloudcafe/contracts';
import { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION } from './aws-resources.js';
import { awsEndpointUrl } from './engines/aws.js';
import { adminTokenFile, labPaths } from './paths.js';
import { HOST, PORTS } from './ports.js';
import { readLabState } from './state.js';

/** The running local lab, read from `.cloudcafe/` and its ports when a probe or the audit runs. */
export const labTarget: Target = {
  gateway() {
    const state = readLabState(labPaths());
    if (!state) throw new Error('the lab is not up: run `npx cloudcafe lab up` first');
    return state.gateway;
  },
  adminToken: () => readFileSync(adminTokenFile(labPaths()), 'utf8').trim(),
  sources: () => ({
    ordersDatabase: `postgres://cloudcafe@${HOST}:${PORTS.postgres}/${ORDERS_DATABASE}`,
    aws: {
      region: LOCAL_AWS_REGION,
      endpoints: {
        dynamodb: awsEndpointUrl('dynamodb'),
        sqs: awsEndpointUrl('sqs'),
        s3: awsEndpointUrl('s3'),
        cloudwatch: awsEndpointUrl('cloudwatch'),
      },
      credentials: LOCAL_AWS_CREDENTIALS,
    },
    paymentGateway: `http://${HOST}:${PORTS.paymentGatewaySimulator}`,
  }),
};
