/**
 * What judges a run: the system's public entry and admin credential (the probes, the load, the
 * service faults) and the data sources the audit reads each business record from. The local
 * lab's comes from its state file and its ports; any other system — the lab reached from
 * elsewhere, a cluster behind port-forwards, a deployed stack — from a target file
 * (`--target <file>`), and then nothing of `.cloudcafe/` is read.
 */
export interface Target {
  readonly gateway: () => string;
  readonly adminToken: () => string;
  readonly sources: () => DataSources;
}

/** The AWS APIs the audit and the run's charts read. */
export type AwsApi = 'dynamodb' | 'sqs' | 's3' | 'cloudwatch';

export interface AwsAccess {
  readonly region: string;
  /** An endpoint per API, for an emulator; an API not listed goes to its AWS endpoint. */
  readonly endpoints: Readonly<Partial<Record<AwsApi, string>>>;
  /** Fixed credentials (an emulator's); absent: the SDK's standard chain (env, profile, role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export interface DataSources {
  /** The order service's PostgreSQL (orders, outbox); PGPASSWORD and the other PG* variables apply. */
  readonly ordersDatabase: string;
  readonly aws: AwsAccess;
  /** The payment gateway's call-log API; absent where the processor has none (the real one). */
  readonly paymentGateway?: string;
}

/** The SDK client settings for one API of a target. */
export function awsClientConfig(aws: AwsAccess, api: AwsApi) {
  const endpoint = aws.endpoints[api];
  return {
    region: aws.region,
    ...(endpoint ? { endpoint } : {}),
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
  };
}
