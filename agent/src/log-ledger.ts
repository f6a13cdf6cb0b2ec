// The bookkeeping of one job's log, and nothing else: no I/O, no timers, no clock (the caller passes
// the time). The LogStreamer feeds it; the transports send what it hands out.
//
// Contract:
// - `write` queues text; `cut(ts)` turns everything queued into chunks numbered 1, 2, 3… with no gap.
//   A chunk holds one stream and at most `maxChunkBytes` UTF-8 bytes (a character is never cut);
//   consecutive writes to the same stream within one cut share a chunk while they fit.
// - A chunk stays unacked until `ack(upTo)` covers it. Acks are cumulative (the room stores seqs
//   contiguously from 1): `ack(n)` drops every chunk ≤ n. A stale or repeated ack changes nothing; an
//   ack past the last seq counts only up to the last seq.
// - Frames (what one message carries) hold ≤ MAX_FRAME_CHUNKS chunks and about MAX_FRAME_BYTES, in seq
//   order. `takeUnsent()` hands out the unacked chunks not yet given to the current connection and
//   remembers them as sent; `resendFromAck()` (a new connection) forgets that, so the next
//   `takeUnsent()` starts again right after the last ack. `oldestFrame()` is the first frame of
//   unacked chunks, sent or not (the HTTP fallback posts it until acked).
// - Resending never doubles a line: the room ignores a seq it already has.
export type StreamName = 'stdout' | 'stderr' | 'system';
/** One numbered piece of the log, as the room's LogChunk contract carries it. */
export type Chunk = { seq: number; stream: StreamName; data: string; ts: number };

export const MAX_CHUNK_BYTES = 64 * 1024;
/** Frames stay well under the room's limits: ≤ 1000 chunks and about 1 MiB each. */
export const MAX_FRAME_CHUNKS = 1000;
export const MAX_FRAME_BYTES = 1024 * 1024;
/** What a chunk adds to a frame besides its text (seq, stream, ts and JSON punctuation), roughly. */
const CHUNK_OVERHEAD_BYTES = 64;

export type LedgerStats = {
  /** The last seq numbered (0 before the first chunk). */
  lastSeq: number;
  /** Every seq ≤ this is stored by the room. */
  acked: number;
  /** Chunks numbered and not yet acked. */
  unacked: number;
  /** Bytes written and not yet cut into chunks. */
  pendingBytes: number;
  /** Chunks given to a connection, not acked, and handed out again on the next one. */
  resentChunks: number;
};

export class LogLedger {
  private pending: { stream: StreamName; data: string }[] = [];
  private pendingByteCount = 0;
  private nextSeq = 1;
  /** In seq order, all > ackedUpTo. */
  private unacked: Chunk[] = [];
  private ackedUpTo = 0;
  /** Highest seq handed to the current connection (what is acked is never handed out: it is no longer in `unacked`). */
  private sentUpTo = 0;
  private resent = 0;

  constructor(readonly maxChunkBytes = MAX_CHUNK_BYTES) {}

  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  get acked(): number {
    return this.ackedUpTo;
  }
  get unackedCount(): number {
    return this.unacked.length;
  }
  get pendingBytes(): number {
    return this.pendingByteCount;
  }
  get stats(): LedgerStats {
    return { lastSeq: this.lastSeq, acked: this.ackedUpTo, unacked: this.unacked.length, pendingBytes: this.pendingByteCount, resentChunks: this.resent };
  }

  write(stream: StreamName, data: string): void {
    if (!data) return;
    this.pending.push({ stream, data });
    this.pendingByteCount += Buffer.byteLength(data);
  }

  /** Numbers everything written since the last cut, stamped `ts`. Returns how many chunks it made. */
  cut(ts: number): number {
    const before = this.nextSeq;
    let current: Chunk | null = null;
    let currentBytes = 0;
    for (const piece of this.pending) {
      for (const part of splitUtf8(piece.data, this.maxChunkBytes)) {
        const bytes = Buffer.byteLength(part);
        if (current && current.stream === piece.stream && currentBytes + bytes <= this.maxChunkBytes) {
          current.data += part;
          currentBytes += bytes;
        } else {
          current = { seq: this.nextSeq++, stream: piece.stream, data: part, ts };
          currentBytes = bytes;
          this.unacked.push(current);
        }
      }
    }
    this.pending = [];
    this.pendingByteCount = 0;
    return this.nextSeq - before;
  }

  /** The room has every seq ≤ `upTo`. Returns whether that is news (the ack moved forward). */
  ack(upTo: number): boolean {
    if (upTo <= this.ackedUpTo) return false;
    this.ackedUpTo = Math.min(upTo, this.lastSeq);
    const firstKept = this.unacked.findIndex((c) => c.seq > this.ackedUpTo);
    this.unacked = firstKept < 0 ? [] : this.unacked.slice(firstKept);
    return true;
  }

  /** The unacked chunks not yet given to the current connection, in frames; they count as sent from here. */
  takeUnsent(): Chunk[][] {
    const out = [...frames(this.unacked.filter((c) => c.seq > this.sentUpTo))];
    const last = out.at(-1)?.at(-1);
    if (last) this.sentUpTo = last.seq;
    return out;
  }

  /** A new connection: it starts right after the last ack. Returns how many chunks it will resend. */
  resendFromAck(): number {
    const resend = this.unacked.filter((c) => c.seq <= this.sentUpTo).length;
    this.resent += resend;
    this.sentUpTo = this.ackedUpTo;
    return resend;
  }

  /** The first frame of unacked chunks, or null when everything is acked. */
  oldestFrame(): Chunk[] | null {
    return frames(this.unacked).next().value ?? null;
  }
}

/** Groups chunks, in order, into frames within the size limits. */
function* frames(chunks: Chunk[]): Generator<Chunk[], undefined> {
  let frame: Chunk[] = [];
  let bytes = 0;
  for (const c of chunks) {
    const size = Buffer.byteLength(c.data) + CHUNK_OVERHEAD_BYTES;
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
