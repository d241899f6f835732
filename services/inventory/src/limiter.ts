/**
 * At most `limit` calls in flight; the rest wait their turn in order. DynamoDB on AWS scales
 * out, but one instance firing hundreds of concurrent requests at it (or at the single-threaded
 * local emulator) turns a burst into connection timeouts instead of a short queue.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
