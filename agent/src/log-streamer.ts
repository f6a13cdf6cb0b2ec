// Streams one job's log to its execution room: numbered chunks, flushed at most every 250 ms or when
// 64 KB are waiting, sent over a WebSocket and kept until the room acks them. After a reconnect
// everything unacked is sent again; while the socket is down the same frames go over HTTP. The
// room ignores a seq it already has, so resending never doubles a line and nothing is dropped.
// This file only coordinates: the numbering and acks are the LogLedger's, the sockets the transports'.
import type { ControlPlaneClient } from './http-client';
import { type Logger, silentLogger } from './log';
import { LogHttpTransport } from './log-http-transport';
import { LogLedger, MAX_CHUNK_BYTES, type StreamName } from './log-ledger';
import { LogWsTransport } from './log-ws-transport';

export const FLUSH_INTERVAL_MS = 250;

export type LogStreamerOptions = {
  client: ControlPlaneClient;
  taskId: string;
  flushIntervalMs?: number;
  maxChunkBytes?: number;
  /** No ack for this long on an open socket: the connection is presumed dead and replaced. */
  ackTimeoutMs?: number;
  logger?: Logger;
};

export class LogStreamer {
  private readonly ledger: LogLedger;
  private readonly ws: LogWsTransport;
  private readonly http: LogHttpTransport;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private ackWaiters: (() => void)[] = [];
  private readonly flushIntervalMs: number;

  constructor(options: LogStreamerOptions) {
    const { client, taskId, flushIntervalMs = FLUSH_INTERVAL_MS, maxChunkBytes = MAX_CHUNK_BYTES, ackTimeoutMs = 15_000, logger = silentLogger } = options;
    this.flushIntervalMs = flushIntervalMs;
    this.ledger = new LogLedger(maxChunkBytes);
    const common = { client, taskId, logger, onAck: (upTo: number) => this.onAck(upTo) };
    this.ws = new LogWsTransport({
      ...common,
      ackTimeoutMs,
      awaitingAck: () => this.ledger.unackedCount > 0,
      onOpen: () => {
        this.ledger.resendFromAck();
        this.send();
      },
      onDown: () => this.send(), // over HTTP until the next socket opens
    });
    this.http = new LogHttpTransport({ ...common, nextFrame: () => (this.ws.isOpen ? null : this.ledger.oldestFrame()) });
  }

  get lastSeq(): number {
    return this.ledger.lastSeq;
  }
  get acked(): number {
    return this.ledger.acked;
  }
  /** Counters for tests and diagnostics. */
  get stats(): { wsConnects: number; wsFrames: number; httpFrames: number; resentChunks: number } {
    const ws = this.ws.stats;
    return { wsConnects: ws.connects, wsFrames: ws.frames, httpFrames: this.http.frames, resentChunks: this.ledger.stats.resentChunks };
  }

  start(): void {
    this.ws.start();
  }

  /** Queue masked text; it leaves within the flush interval, or at once past 64 KB. */
  write(stream: StreamName, data: string): void {
    if (!data || this.closed) return;
    this.ledger.write(stream, data);
    if (this.ledger.pendingBytes >= this.ledger.maxChunkBytes) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  /** Cuts what is pending into numbered chunks (one stream per chunk, ≤ 64 KB each) and sends them. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.ledger.cut(Date.now())) this.send();
  }

  /**
   * Flushes, then waits until the room has acked every chunk (or the deadline passes).
   * Returns the last seq and whether everything was acked.
   */
  async close(deadlineMs = 60_000): Promise<{ lastSeq: number; complete: boolean }> {
    this.flush();
    const deadline = Date.now() + deadlineMs;
    while (this.acked < this.lastSeq && Date.now() < deadline) {
      this.send();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
        this.ackWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.closed = true;
    this.http.stop();
    this.ws.close();
    return { lastSeq: this.lastSeq, complete: this.acked >= this.lastSeq };
  }

  /** Everything unacked that the open socket has not had yet, or (socket down) the HTTP fallback. */
  private send(): void {
    if (!this.ledger.unackedCount) return;
    if (this.ws.isOpen) for (const frame of this.ledger.takeUnsent()) this.ws.send(frame);
    else void this.http.drain();
  }

  private onAck(upTo: number): void {
    this.ws.noteAck();
    if (!this.ledger.ack(upTo)) return;
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const w of waiters) w();
  }
}

export { MAX_CHUNK_BYTES, splitUtf8, type StreamName } from './log-ledger';
