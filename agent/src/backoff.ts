// Jittered exponential backoff ("full jitter") and an abortable sleep: every retry loop in the agent
// waits through these, so a fleet of agents never retries in lockstep.

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 30_000,
    private readonly random = Math.random,
  ) {}

  /** The next wait: uniform in [base/2, min(cap, base·2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const floor = Math.min(this.baseMs / 2, ceiling);
    return Math.round(floor + this.random() * (ceiling - floor));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
