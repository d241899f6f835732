import { CafeError } from '@cloudcafe/kit';

/**
 * The front's view of the local Lambda runtime's API (platforms/local/src/lambda-runtime).
 * On AWS there is no such API — Lambda itself and FIS play its part — and the front is given
 * no PAYMENT_RUNTIME_URL; whatever needs it answers 503.
 */

export interface RuntimeInvocation {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly cold: boolean;
  readonly initMs?: number;
  readonly records: number;
  readonly failed: number;
  readonly outcome: string;
}

export interface RuntimeStatus {
  readonly concurrency: number;
  readonly peakConcurrency: number;
  readonly instances: readonly unknown[];
  readonly settings: { readonly maxConcurrency: number };
}

export class RuntimeClient {
  constructor(
    private readonly baseUrl: string | undefined,
    private readonly adminToken: string,
  ) {}

  get available(): boolean {
    return this.baseUrl !== undefined;
  }

  /** Any call on the runtime API; errors become CafeErrors a route can answer with. */
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    if (!this.baseUrl) {
      throw new CafeError(
        'CAFE_ERR_UNAVAILABLE',
        'no local Lambda runtime here (PAYMENT_RUNTIME_URL is unset)',
      );
    }
    let res: Response;
    try {
      res = await fetch(new URL(`/api/payments${path}`, this.baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${this.adminToken}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      throw new CafeError(
        'CAFE_ERR_DEPENDENCY_FAILED',
        `Lambda runtime unreachable: ${(error as Error).message}`,
      );
    }
    return { status: res.status, body: await res.json().catch(() => ({})) };
  }

  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.call(method, path, body);
    if (answer.status >= 300) {
      throw new CafeError(
        'CAFE_ERR_DEPENDENCY_FAILED',
        `Lambda runtime answered ${answer.status} to ${path}`,
      );
    }
    return answer.body as T;
  }

  recycle = () => this.ok<{ retired: number }>('POST', '/runtime/recycle');
  status = () => this.ok<RuntimeStatus>('GET', '/runtime');
  invocationsSince = async (since: number) =>
    (await this.ok<{ invocations: RuntimeInvocation[] }>('GET', `/runtime/invocations?since=${since}`))
      .invocations;
}
