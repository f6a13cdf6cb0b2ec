// Streams one job's log to its execution room: numbered chunks, flushed at most every 250 ms or when
// 64 KB are waiting, sent over a WebSocket and kept until the room acks them. After a reconnect
// everything unacked is sent again; while the socket is down the same frames go over HTTP. The
// room ignores a seq it already has, so resending never doubles a line and nothing is dropped.
import WebSocket from 'ws';
import { type AgentLogFrame, LogAck } from '../../worker/contracts/agent';
import type { LogChunk } from '../../worker/contracts/results';
import { Backoff, sleep } from './backoff';
import type { ControlPlaneClient } from './http-client';
import { errorMessage, type Logger, silentLogger } from './log';

export type StreamName = 'stdout' | 'stderr' | 'system';
type Chunk = { seq: number; stream: StreamName; data: string; ts: number };

export const FLUSH_INTERVAL_MS = 250;
export const MAX_CHUNK_BYTES = 64 * 1024;
/** Frames stay well under the room's limits: ≤ 1000 chunks and about 1 MB each. */
const MAX_FRAME_CHUNKS = 1000;
const MAX_FRAME_BYTES = 1024 * 1024;

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
  private pending: { stream: StreamName; data: string }[] = [];
  private pendingBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private nextSeq = 1;
  private unacked: Chunk[] = [];
  private ackedUpTo = 0;
  private ws: WebSocket | null = null;
  private wsOpen = false;
  /** Highest seq written to the current socket. */
  private sentOnWs = 0;
  private reconnectBackoff = new Backoff(200, 5_000);
  private httpBusy = false;
  private closed = false;
  private readonly closeSignal = new AbortController();
  private ackWaiters: (() => void)[] = [];
  private ackWatch: NodeJS.Timeout | null = null;
  private lastAckAt = Date.now();
  /** Counters for tests and diagnostics. */
  readonly stats = { wsConnects: 0, wsFrames: 0, httpFrames: 0, resentChunks: 0 };
  private readonly opts: Required<Omit<LogStreamerOptions, 'client' | 'taskId'>> & LogStreamerOptions;

  constructor(options: LogStreamerOptions) {
    this.opts = { flushIntervalMs: FLUSH_INTERVAL_MS, maxChunkBytes: MAX_CHUNK_BYTES, ackTimeoutMs: 15_000, logger: silentLogger, ...options };
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  get acked(): number {
    return this.ackedUpTo;
  }

  start(): void {
    this.connect();
    this.ackWatch = setInterval(() => this.checkAckProgress(), 1000);
    this.ackWatch.unref();
  }

  /** Queue masked text; it leaves within the flush interval, or at once past 64 KB. */
  write(stream: StreamName, data: string): void {
    if (!data || this.closed) return;
    this.pending.push({ stream, data });
    this.pendingBytes += Buffer.byteLength(data);
    if (this.pendingBytes >= this.opts.maxChunkBytes) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.opts.flushIntervalMs);
  }

  /** Cuts what is pending into numbered chunks (one stream per chunk, ≤ 64 KB each) and sends them. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (!this.pending.length) return;
    const ts = Date.now();
    let current: Chunk | null = null;
    for (const piece of this.pending) {
      for (const part of splitUtf8(piece.data, this.opts.maxChunkBytes)) {
        const fits = current && current.stream === piece.stream && Buffer.byteLength(current.data) + Buffer.byteLength(part) <= this.opts.maxChunkBytes;
        if (fits) current!.data += part;
        else {
          current = { seq: this.nextSeq++, stream: piece.stream, data: part, ts };
          this.unacked.push(current);
        }
      }
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.send();
  }

  /**
   * Flushes, then waits until the room has acked every chunk (or the deadline passes).
   * Returns the last seq and whether everything was acked.
   */
  async close(deadlineMs = 60_000): Promise<{ lastSeq: number; complete: boolean }> {
    this.flush();
    const deadline = Date.now() + deadlineMs;
    while (this.ackedUpTo < this.lastSeq && Date.now() < deadline) {
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
    this.closeSignal.abort();
    if (this.ackWatch) clearInterval(this.ackWatch);
    const ws = this.ws;
    this.ws = null;
    this.wsOpen = false;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'done');
      else ws.terminate();
    }
    return { lastSeq: this.lastSeq, complete: this.ackedUpTo >= this.lastSeq };
  }

  private send(): void {
    if (!this.unacked.length) return;
    if (this.wsOpen && this.ws) {
      const toSend = this.unacked.filter((c) => c.seq > this.sentOnWs);
      for (const frame of frames(toSend)) {
        this.ws.send(JSON.stringify({ type: 'chunks', chunks: frame } satisfies AgentLogFrame));
        this.stats.wsFrames++;
        this.sentOnWs = frame[frame.length - 1]!.seq;
      }
    } else {
      void this.sendOverHttp();
    }
  }

  /** The fallback path while the socket is down: POST unacked frames until they are acked. */
  private async sendOverHttp(): Promise<void> {
    if (this.httpBusy) return;
    this.httpBusy = true;
    const backoff = new Backoff(250, 5_000);
    try {
      // Gives up once close() has returned (its deadline passed, or the lease is gone).
      while (this.unacked.length && !this.wsOpen && !this.closed) {
        const frame = frames(this.unacked).next().value!;
        try {
          const data = await this.opts.client.request<{ upTo: number }>('POST', `/api/agent/jobs/${this.opts.taskId}/logs`, {
            body: { type: 'chunks', chunks: frame } satisfies AgentLogFrame,
            attempts: 1,
            timeoutMs: 10_000,
          });
          this.stats.httpFrames++;
          if (data && typeof data.upTo === 'number') this.onAck(data.upTo);
          backoff.reset();
        } catch (err) {
          this.opts.logger.warn(`log upload over HTTP failed (${errorMessage(err)}); retrying`);
          await sleep(backoff.next(), this.closeSignal.signal);
        }
      }
    } finally {
      this.httpBusy = false;
    }
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.opts.client.wsUrl(`/api/agent/jobs/${this.opts.taskId}/stream`), {
      headers: this.opts.client.headers(),
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.stats.wsConnects++;
      this.wsOpen = true;
      this.reconnectBackoff.reset();
      this.lastAckAt = Date.now();
      // A new connection starts from the last ack: everything after it is sent again.
      const resend = this.unacked.filter((c) => c.seq <= this.sentOnWs).length;
      this.stats.resentChunks += this.stats.wsConnects > 1 ? resend : 0;
      this.sentOnWs = this.ackedUpTo;
      this.send();
    });
    ws.on('message', (raw) => {
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      const ack = LogAck.safeParse(msg);
      if (ack.success) this.onAck(ack.data.upTo);
    });
    ws.on('error', (err) => this.opts.logger.warn(`log socket: ${errorMessage(err)}`));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.wsOpen = false;
      this.ws = null;
      this.sentOnWs = this.ackedUpTo;
      if (this.closed) return;
      this.send(); // over HTTP meanwhile
      const wait = this.reconnectBackoff.next();
      setTimeout(() => this.connect(), wait).unref();
    });
  }

  private onAck(upTo: number): void {
    this.lastAckAt = Date.now();
    if (upTo <= this.ackedUpTo) return;
    this.ackedUpTo = Math.min(upTo, this.lastSeq);
    this.unacked = this.unacked.filter((c) => c.seq > this.ackedUpTo);
    if (this.sentOnWs < this.ackedUpTo) this.sentOnWs = this.ackedUpTo;
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const w of waiters) w();
  }

  /** A socket that takes frames but never acks (half-open TCP after a network drop) is replaced. */
  private checkAckProgress(): void {
    if (!this.wsOpen || !this.ws || !this.unacked.length) return;
    if (Date.now() - this.lastAckAt > this.opts.ackTimeoutMs) {
      this.opts.logger.warn(`no log ack for ${this.opts.ackTimeoutMs} ms; reconnecting`);
      this.ws.terminate();
    }
  }
}

/** Groups chunks into frames within the size limits. */
function* frames(chunks: Chunk[]): Generator<Chunk[]> {
  let frame: Chunk[] = [];
  let bytes = 0;
  for (const c of chunks) {
    const size = Buffer.byteLength(c.data) + 64;
    if (frame.length && (frame.length >= MAX_FRAME_CHUNKS || bytes + size > MAX_FRAME_BYTES)) {
      yield frame;
      frame = [];
      bytes = 0;
    }
    frame.push(c);
    bytes += size;
  }
  if (frame.length) yield frame;
}

/** Splits a string into pieces of at most `maxBytes` UTF-8 bytes without cutting a character. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  if (Buffer.byteLength(text) <= maxBytes) return [text];
  const out: string[] = [];
  let piece = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) {
      out.push(piece);
      piece = '';
      bytes = 0;
    }
    piece += ch;
    bytes += n;
  }
  if (piece) out.push(piece);
  return out;
}

export type { LogChunk };
