// The WebSocket from one job to its execution room: connects, reconnects with backoff after a drop,
// replaces a socket that takes frames but stops acking, and sends the frames it is given. What to
// send, and what to send again on a new socket, is the LogLedger's business (through the LogStreamer).
import WebSocket from 'ws';
import { type AgentLogFrame, LogAck } from '../../worker/contracts/agent';
import { Backoff } from './backoff';
import type { ControlPlaneClient } from './http-client';
import { errorMessage, type Logger } from './log';
import type { Chunk } from './log-ledger';

export type LogWsTransportOptions = {
  client: ControlPlaneClient;
  taskId: string;
  /** No ack for this long on an open socket while chunks wait for one: the socket is replaced. */
  ackTimeoutMs: number;
  logger: Logger;
  /** Whether any chunk waits for an ack (a silent socket with nothing to ack is fine). */
  awaitingAck: () => boolean;
  /** A socket opened: the coordinator sends what is unacked. */
  onOpen: () => void;
  onAck: (upTo: number) => void;
  /** The socket dropped (a new one follows after a backoff): the coordinator falls back to HTTP. */
  onDown: () => void;
};

export class LogWsTransport {
  private ws: WebSocket | null = null;
  private open = false;
  private closed = false;
  private readonly reconnectBackoff = new Backoff(200, 5_000);
  private ackWatch: NodeJS.Timeout | null = null;
  private lastAckAt = Date.now();
  private connectCount = 0;
  private frameCount = 0;

  constructor(private readonly opts: LogWsTransportOptions) {}

  get isOpen(): boolean {
    return this.open && this.ws !== null;
  }
  get stats(): { connects: number; frames: number } {
    return { connects: this.connectCount, frames: this.frameCount };
  }

  start(): void {
    this.connect();
    this.ackWatch = setInterval(() => this.checkAckProgress(), 1000);
    this.ackWatch.unref();
  }

  send(frame: Chunk[]): void {
    this.ws?.send(JSON.stringify({ type: 'chunks', chunks: frame } satisfies AgentLogFrame));
    this.frameCount++;
  }

  /** An ack arrived (over this socket or HTTP): the link is alive. */
  noteAck(): void {
    this.lastAckAt = Date.now();
  }

  /** Closes the socket for good: politely when it is open, and no reconnect follows. */
  close(): void {
    this.closed = true;
    if (this.ackWatch) clearInterval(this.ackWatch);
    const ws = this.ws;
    this.ws = null;
    this.open = false;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'done');
    else ws.terminate();
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.opts.client.wsUrl(`/api/agent/jobs/${this.opts.taskId}/stream`), {
      headers: this.opts.client.headers(),
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on('open', () => {
      this.connectCount++;
      this.open = true;
      this.reconnectBackoff.reset();
      this.lastAckAt = Date.now();
      this.opts.onOpen();
    });
    ws.on('message', (raw) => {
      let msg: unknown;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      const ack = LogAck.safeParse(msg);
      if (ack.success) this.opts.onAck(ack.data.upTo);
    });
    ws.on('error', (err) => this.opts.logger.warn(`log socket: ${errorMessage(err)}`));
    ws.on('close', () => {
      // A socket already replaced (or closed by close()) is no news.
      if (this.ws !== ws) return;
      this.open = false;
      this.ws = null;
      if (this.closed) return;
      this.opts.onDown();
      setTimeout(() => this.connect(), this.reconnectBackoff.next()).unref();
    });
  }

  /** A socket that takes frames but never acks (half-open TCP after a network drop) is replaced. */
  private checkAckProgress(): void {
    if (!this.isOpen || !this.opts.awaitingAck()) return;
    if (Date.now() - this.lastAckAt > this.opts.ackTimeoutMs) {
      this.opts.logger.warn(`no log ack for ${this.opts.ackTimeoutMs} ms; reconnecting`);
      this.ws!.terminate();
    }
  }
}
