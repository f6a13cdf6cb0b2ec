// Asks for runs continuously so that every agent stays busy: as many runs in flight as there are
// agent slots, a new one as soon as one ends. Alternates the two ways a run is asked for: a member's
// POST /api/execution-request (JWT) and CI's POST /api/ci/trigger (API key).
import type { Api } from './api';

export type Requested = { taskId: string; via: 'user' | 'ci'; requestedAt: number; answeredAt: number };

export class RunRequester {
  readonly requested = new Map<string, Requested>();
  readonly failures: string[] = [];
  private inFlight = 0;
  private stopped = false;
  private count = 0;
  private finished = new Set<string>();
  onRequested: (r: Requested) => void = () => {};

  constructor(
    private readonly api: Api,
    private readonly org: { token: string; ciKey: string; projectId: string },
    private readonly slots: number,
  ) {}

  /** Ramps up over `rampMs` (agents do not all get their first job in the same second), then keeps every slot busy. */
  async start(rampMs = 10_000) {
    for (let i = 0; i < this.slots && this.inFlight < this.slots && !this.stopped; i++) {
      this.inFlight++;
      void this.requestOne();
      await new Promise((r) => setTimeout(r, rampMs / this.slots));
    }
    this.fill();
  }

  /** An agent reported the run over: its slot takes the next one. */
  finishedRun(taskId: string) {
    if (!this.requested.has(taskId) || this.finished.has(taskId)) return;
    this.finished.add(taskId);
    this.inFlight--;
    this.fill();
  }

  stop() {
    this.stopped = true;
  }

  /** Runs requested and not reported over yet. */
  get outstanding() {
    return this.inFlight;
  }

  private fill() {
    while (!this.stopped && this.inFlight < this.slots) {
      this.inFlight++;
      void this.requestOne();
    }
  }

  private async requestOne() {
    const via = this.count++ % 2 === 0 ? 'user' : 'ci';
    const requestedAt = Date.now();
    try {
      const data =
        via === 'user'
          ? await this.api.call('POST', '/api/execution-request', { token: this.org.token, body: { projectId: this.org.projectId } })
          : await this.api.call('POST', '/api/ci/trigger', {
              apiKey: this.org.ciKey,
              body: { projectId: this.org.projectId, ciContext: { source: 'github', repository: 'acme/load', branch: 'main', commitSha: `c${this.count}` } },
            });
      const r: Requested = { taskId: data.taskId, via, requestedAt, answeredAt: Date.now() };
      this.requested.set(r.taskId, r);
      this.onRequested(r);
    } catch (err) {
      this.failures.push(String(err));
      this.inFlight--;
      // Not in a tight loop: a refused request waits a second before its slot asks again.
      setTimeout(() => this.fill(), 1000);
    }
  }
}
