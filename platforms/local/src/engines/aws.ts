import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AWS_RESOURCES,
  LOCAL_AWS_CREDENTIALS,
  LOCAL_AWS_REGION,
  provisionAwsResources,
  RESOURCE_SERVICE,
} from '../aws-resources.js';
import { ensureDir } from '../paths.js';
import { HOST, PORTS } from '../ports.js';
import { httpOk } from '../probes.js';
import type { EngineSpec } from './types.js';

/**
 * The local AWS: three emulators, chosen by the contract tests in test/aws-contract.integration.test.ts
 * (docs/adr/0002-local-aws-emulators.md has the results and the figures).
 *
 * - moto server: Kinesis, S3, CloudWatch, FIS, on PORTS.aws.
 * - dynalite: DynamoDB, on PORTS.dynamodb. moto's DynamoDB costs about 5 ms of Python per call
 *   and shares its one process with everything else moto serves; dynalite answers the same
 *   conditional update in a fraction of that, in a process of its own, and validates requests
 *   the way DynamoDB does. It has no transactions, and CloudCafe's hot paths use none
 *   (docs/adr/0011-coalesced-stock-writes.md).
 * - ElasticMQ: SQS. moto's FIFO deduplication forgets a MessageDeduplicationId once its message
 *   is deleted, so an outbox resend after the payment was consumed would be delivered again;
 *   AWS (and ElasticMQ) keep dropping it for 5 minutes. ElasticMQ is also several times faster
 *   on the SQS hot path, and keeps that load off moto's single Python process.
 */

/**
 * ElasticMQ's port. Derived from PORTS.aws so that it moves with it (a port offset for a second
 * lab shifts both); belongs in PORTS once ports.ts gains an entry for it.
 */
export const ELASTICMQ_PORT = PORTS.aws + 10;

/** Pinned in scripts/bootstrap (ELASTICMQ_VERSION), which puts the jars here under the tools dir. */
const elasticmqLibDir = (toolsBin: string): string => join(toolsBin, '..', 'elasticmq', 'lib');

/** Every AWS API CloudCafe calls; the values are the `AWS_ENDPOINT_URL_<SERVICE>` suffixes. */
export const AWS_SERVICES = {
  sqs: 'SQS',
  dynamodb: 'DYNAMODB',
  kinesis: 'KINESIS',
  s3: 'S3',
  cloudwatch: 'CLOUDWATCH',
  fis: 'FIS',
} as const;

export type AwsService = keyof typeof AWS_SERVICES;

/** Which local port answers each AWS API. */
export const AWS_ENDPOINTS: { readonly [S in AwsService]: number } = {
  sqs: ELASTICMQ_PORT,
  dynamodb: PORTS.dynamodb,
  kinesis: PORTS.aws,
  s3: PORTS.aws,
  cloudwatch: PORTS.aws,
  fis: PORTS.aws,
};

export const awsEndpointUrl = (service: AwsService): string => `http://${HOST}:${AWS_ENDPOINTS[service]}`;

/** Creates the lab's resources that live in the emulator on `port` (each engine provisions its own). */
async function provisionOn(port: number): Promise<void> {
  await provisionAwsResources({
    endpoint: `http://${HOST}:${port}`,
    resources: AWS_RESOURCES.filter((resource) => AWS_ENDPOINTS[RESOURCE_SERVICE[resource.kind]] === port),
  });
}

/**
 * The environment a process needs to reach the local AWS directly (no Toxiproxy link): the
 * SDK reads these itself, so the same code runs against a real account when they are absent.
 * A service's own links override the per-service variables (topology.ts).
 */
export function localAwsEnv(): Record<string, string> {
  const env: Record<string, string> = {
    AWS_REGION: LOCAL_AWS_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL: `http://${HOST}:${PORTS.aws}`,
  };
  for (const [service, suffix] of Object.entries(AWS_SERVICES) as [AwsService, string][]) {
    if (AWS_ENDPOINTS[service] !== PORTS.aws) env[`AWS_ENDPOINT_URL_${suffix}`] = awsEndpointUrl(service);
  }
  return env;
}

/** moto's app under waitress (moto-server.py: keep-alive instead of a connection per call). */
const MOTO_LAUNCHER = fileURLToPath(new URL('./moto-server.py', import.meta.url));

/** moto: one threaded Python process, state in memory only (gone when it stops). */
export const moto: EngineSpec = {
  name: 'aws',
  port: PORTS.aws,
  process(paths) {
    return {
      name: 'aws',
      kind: 'engine',
      command: join(paths.venvBin, 'python'),
      args: [MOTO_LAUNCHER, HOST, String(PORTS.aws)],
      // moto keeps nothing on disk; the folder only gives it a working directory of its own.
      cwd: ensureDir(paths.dataDir('aws')),
      // MOTO_PORT: moto writes it into the URLs it hands out (what moto_server sets itself).
      env: { PYTHONUNBUFFERED: '1', MOTO_PORT: String(PORTS.aws) },
      port: PORTS.aws,
      // The dashboard page is served by moto's own Flask app: up means every service is routed.
      ready: () => httpOk(`http://${HOST}:${PORTS.aws}/moto-api/`),
    };
  },
  provision: () => provisionOn(PORTS.aws),
};

/** ElasticMQ's HOCON config: loopback only, AWS limits, the lab's region so ARNs look real. */
function elasticmqConfig(): string {
  return `include classpath("application.conf")

# "*": queue URLs name the host and port the request came to. A fixed address would hand
# services behind a Toxiproxy link a URL naming ElasticMQ itself, and the SDK then sends SQS
# calls there, around the link and its faults.
node-address {
  protocol = http
  host = "*"
  port = ${ELASTICMQ_PORT}
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = ${ELASTICMQ_PORT}
  bind-hostname = "${HOST}"
  sqs-limits = strict
}
# the statistics UI would take another port; nothing in the lab reads it
rest-stats { enabled = false }
aws {
  region = "${LOCAL_AWS_REGION}"
  accountId = "000000000000"
}
# In memory, like moto: AWS state lives as long as the lab, and all of it goes together.
queues-storage { enabled = false }
messages-storage { enabled = false }
`;
}

/** ElasticMQ (SQS) on the JVM from Debian's default JRE; jars fetched by scripts/bootstrap. */
export const elasticmq: EngineSpec = {
  name: 'aws-sqs',
  port: ELASTICMQ_PORT,
  async prepare(paths) {
    writeFileSync(join(ensureDir(paths.dataDir('aws-sqs')), 'elasticmq.conf'), elasticmqConfig());
  },
  process(paths) {
    const dir = paths.dataDir('aws-sqs');
    return {
      name: 'aws-sqs',
      kind: 'engine',
      command: 'java',
      args: [
        // A small fixed heap and the serial collector: on 2 cores a default JVM sizes its heap
        // from the machine's RAM and runs GC threads that compete with everything else.
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        `-Dconfig.file=${join(dir, 'elasticmq.conf')}`,
        '-cp',
        `${elasticmqLibDir(paths.toolsBin)}/*`,
        'org.elasticmq.server.Main',
      ],
      cwd: dir,
      port: ELASTICMQ_PORT,
      ready: () => httpOk(`http://${HOST}:${ELASTICMQ_PORT}/health`),
    };
  },
  provision: () => provisionOn(ELASTICMQ_PORT),
};

/** dynalite's command line, resolved from node_modules (an npm dependency of this workspace). */
const dynaliteCli = (): string => createRequire(import.meta.url).resolve('dynalite/cli.js');

/** dynalite (DynamoDB) on Node: in memory, like the other emulators; tables ready at once. */
export const dynalite: EngineSpec = {
  name: 'aws-dynamodb',
  port: PORTS.dynamodb,
  process(paths) {
    return {
      name: 'aws-dynamodb',
      kind: 'engine',
      command: process.execPath,
      args: [
        dynaliteCli(),
        '--host',
        HOST,
        '--port',
        String(PORTS.dynamodb),
        // AWS keeps a new table CREATING for seconds; the lab creates them once at start.
        '--createTableMs',
        '0',
        '--deleteTableMs',
        '0',
        '--updateTableMs',
        '0',
      ],
      cwd: ensureDir(paths.dataDir('aws-dynamodb')),
      port: PORTS.dynamodb,
      ready: () => httpOk(`http://${HOST}:${PORTS.dynamodb}/`),
    };
  },
  provision: () => provisionOn(PORTS.dynamodb),
};

/** The AWS emulators; they are independent, so any order works. */
export const AWS_ENGINES: readonly EngineSpec[] = [moto, elasticmq, dynalite];
