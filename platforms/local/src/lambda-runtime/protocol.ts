import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Messages between the runtime (parent) and one instance (a worker thread). */

export interface InstanceData {
  /** Absolute path of the handler module; the instance imports it, paying its init. */
  readonly handlerPath: string;
  readonly functionName: string;
  readonly memoryMiB: number;
}

export type ToInstance = {
  readonly type: 'invoke';
  readonly requestId: string;
  readonly event: SQSEvent;
  /** Epoch ms after which the runtime kills the instance (the invocation timeout). */
  readonly deadline: number;
};

export type FromInstance =
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'init-error'; readonly message: string }
  | { readonly type: 'result'; readonly requestId: string; readonly response: SQSBatchResponse | undefined }
  | { readonly type: 'error'; readonly requestId: string; readonly message: string };
