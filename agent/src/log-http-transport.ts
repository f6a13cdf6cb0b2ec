// The log's fallback while its WebSocket is down: POSTs one frame at a time to the run's room until
// there is nothing left to post, retrying with backoff. Which frame, and when to stop because the
// socket is back, is the coordinator's answer to `nextFrame()`.
import type { AgentLogFrame } from '../../worker/contracts/agent';
import { Backoff, sleep } from './backoff';
import type { ControlPlaneClient } from './http-client';
import { errorMessage, type Logger } from './log';
import type { Chunk } from './log-ledger';

export type LogHttpTransportOptions = {
  client: ControlPlaneClient;
  taskId: string;
  logger: Logger;
  /** The frame to post now, or null when there is none (everything acked, or the socket is back). */
  nextFrame: () => Chunk[] | null;
  onAck: (upTo: number) => void;
};

export class LogHttpTransport {
  private busy = false;
  private readonly stopSignal = new AbortController();
  private frameCount = 0;

  constructor(private readonly opts: LogHttpTransportOptions) {}

  get frames(): number {
    return this.frameCount;
  }

  /** Posts frames until `nextFrame()` has none; a call while that is under way returns at once (that one goes on). */
  async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const backoff = new Backoff(250, 5_000);
    try {
      // Gives up once stopped (the streamer's close() has returned: its deadline passed, or the lease is gone).
      for (let frame = this.opts.nextFrame(); frame && !this.stopSignal.signal.aborted; frame = this.opts.nextFrame()) {
        try {
          const data = await this.opts.client.request<{ upTo: number }>('POST', `/api/agent/jobs/${this.opts.taskId}/logs`, {
            body: { type: 'chunks', chunks: frame } satisfies AgentLogFrame,
            attempts: 1,
            timeoutMs: 10_000,
          });
          this.frameCount++;
          if (data && typeof data.upTo === 'number') this.opts.onAck(data.upTo);
          backoff.reset();
        } catch (err) {
          this.opts.logger.warn(`log upload over HTTP failed (${errorMessage(err)}); retrying`);
          await sleep(backoff.next(), this.stopSignal.signal);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    this.stopSignal.abort();
  }
}
