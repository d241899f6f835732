import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { FromInstance, InstanceData, ToInstance } from './protocol.js';

/**
 * The execution environments of one function. An invocation takes an idle instance (warm) or
 * creates one (cold: a new worker thread that imports the handler and pays its init); an
 * instance idle longer than `idleMs` is recycled, as Lambda reclaims idle environments; an
 * instance whose invocation runs past its timeout is killed, as Lambda kills the environment.
 */

export type InstanceState = 'initializing' | 'idle' | 'busy';

export interface InstanceView {
  readonly id: number;
  readonly state: InstanceState;
  readonly createdAt: string;
  readonly initMs: number | undefined;
  readonly invocations: number;
  readonly lastUsedAt: string;
}

export interface InvokeOutcome {
  readonly response: SQSBatchResponse | undefined;
  readonly cold: boolean;
  /** The handler module's init, for a cold invocation. */
  readonly initMs: number | undefined;
  readonly instanceId: number;
}

export class InvocationTimeoutError extends Error {
  override readonly name = 'InvocationTimeoutError';
}

/** An invocation that errored, crashed its instance or timed out, with what it cost. */
export class InstanceInvocationError extends Error {
  override readonly name = 'InstanceInvocationError';
  constructor(
    cause: Error,
    readonly timedOut: boolean,
    readonly cold: boolean,
    readonly initMs: number | undefined,
    readonly instanceId: number,
  ) {
    super(cause.message, { cause });
  }
}

export interface InvocationLimits {
  readonly initTimeoutMs: number;
  readonly timeoutMs: number;
}

async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);

class Instance {
  readonly worker: Worker;
  state: InstanceState = 'initializing';
  initMs: number | undefined;
  invocations = 0;
  lastUsed = Date.now();
  retire = false;
  exited = false;
  readonly createdAt = new Date();
  private readonly ready: Promise<number>;
  private pending:
    | { requestId: string; resolve: (r: SQSBatchResponse | undefined) => void; reject: (e: Error) => void }
    | undefined;

  constructor(
    readonly id: number,
    data: InstanceData,
    env: Record<string, string>,
    onStdoutLine: (line: string) => void,
  ) {
    this.worker = new Worker(BOOTSTRAP, { workerData: data, env, stdout: true });
    // The handler writes logs and EMF metric lines to stdout, as on Lambda; the runtime reads
    // them line by line (see LambdaRuntime's EMF bridge).
    createInterface({ input: this.worker.stdout }).on('line', onStdoutLine);
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromInstance) => {
        if (message.type === 'ready') {
          this.initMs = message.initMs;
          resolve(message.initMs);
        } else if (message.type === 'init-error') {
          reject(new Error(`init failed: ${message.message}`));
        } else if (this.pending && message.requestId === this.pending.requestId) {
          const { resolve: done, reject: fail } = this.pending;
          this.pending = undefined;
          if (message.type === 'result') done(message.response);
          else fail(new Error(message.message));
        }
      });
      this.worker.on('error', (error) => {
        reject(error);
        this.pending?.reject(error);
        this.pending = undefined;
      });
      this.worker.on('exit', (code) => {
        this.exited = true;
        const error = new Error(`instance ${id} exited (code ${code})`);
        reject(error);
        this.pending?.reject(error);
        this.pending = undefined;
      });
    });
    // Never an unhandled rejection: whoever invokes awaits it and sees the failure.
    this.ready.catch(() => {});
  }

  /**
   * Waits for the init (bounded by `limits.initTimeoutMs`), then runs the invocation (bounded
   * by `limits.timeoutMs`, counted from the end of the init, as Lambda bounds the two phases
   * separately).
   */
  async invoke(
    event: SQSEvent,
    requestId: string,
    limits: InvocationLimits,
  ): Promise<SQSBatchResponse | undefined> {
    await within(this.ready, limits.initTimeoutMs, `init of instance ${this.id} timed out`);
    const deadline = Date.now() + limits.timeoutMs;
    const result = new Promise<SQSBatchResponse | undefined>((resolve, reject) => {
      this.pending = { requestId, resolve, reject };
    });
    const message: ToInstance = { type: 'invoke', requestId, event, deadline };
    this.worker.postMessage(message);
    return within(result, limits.timeoutMs, `invocation ${requestId} timed out`);
  }

  view(): InstanceView {
    return {
      id: this.id,
      state: this.state,
      createdAt: this.createdAt.toISOString(),
      initMs: this.initMs === undefined ? undefined : Math.round(this.initMs),
      invocations: this.invocations,
      lastUsedAt: new Date(this.lastUsed).toISOString(),
    };
  }
}

export interface InstancePoolOptions {
  readonly data: InstanceData;
  /** The environment every instance sees (process.env of a Lambda environment). */
  readonly env: Record<string, string>;
  readonly idleMs: number;
  readonly onStdoutLine: (line: string) => void;
}

export class InstancePool {
  private readonly instances = new Map<number, Instance>();
  private nextId = 1;

  constructor(private readonly options: InstancePoolOptions) {}

  /** Runs one invocation on an idle instance, or on a new one (a cold start). */
  async invoke(event: SQSEvent, requestId: string, limits: InvocationLimits): Promise<InvokeOutcome> {
    let instance = [...this.instances.values()].find((i) => i.state === 'idle' && !i.retire);
    const cold = instance === undefined;
    if (!instance) {
      instance = new Instance(this.nextId++, this.options.data, this.options.env, this.options.onStdoutLine);
      this.instances.set(instance.id, instance);
    }
    instance.state = 'busy';
    instance.invocations += 1;
    try {
      const response = await instance.invoke(event, requestId, limits);
      return { response, cold, initMs: cold ? instance.initMs : undefined, instanceId: instance.id };
    } catch (error) {
      // A handler error leaves the environment usable (Lambda keeps it); a timeout or a crash
      // does not: its state is unknown, so it is ended and the next invocation starts cold.
      const timedOut = error instanceof InvocationTimeoutError;
      const crashed = instance.exited;
      if (timedOut || crashed || instance.initMs === undefined) void this.discard(instance);
      throw new InstanceInvocationError(error as Error, timedOut, cold, instance.initMs, instance.id);
    } finally {
      instance.lastUsed = Date.now();
      if (this.instances.has(instance.id)) {
        instance.state = 'idle';
        if (instance.retire) this.discard(instance);
      }
    }
  }

  /** Recycles instances idle for longer than idleMs; returns how many. */
  reap(now = Date.now()): number {
    let reaped = 0;
    for (const instance of this.instances.values()) {
      if (instance.state === 'idle' && now - instance.lastUsed > this.options.idleMs) {
        this.discard(instance);
        reaped += 1;
      }
    }
    return reaped;
  }

  /**
   * Retires every instance: idle ones now, busy ones when their invocation ends. The next
   * invocations all start cold.
   */
  recycleAll(): number {
    let count = 0;
    for (const instance of this.instances.values()) {
      count += 1;
      if (instance.state === 'busy') instance.retire = true;
      else this.discard(instance);
    }
    return count;
  }

  get busy(): number {
    return [...this.instances.values()].filter((i) => i.state === 'busy').length;
  }

  view(): InstanceView[] {
    return [...this.instances.values()].map((i) => i.view());
  }

  async close(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => this.discard(i)));
  }

  private discard(instance: Instance): Promise<number> {
    this.instances.delete(instance.id);
    return instance.worker.terminate();
  }
}
