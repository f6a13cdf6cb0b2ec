// The log's bookkeeping without sockets: numbering without gaps, chunks and frames within their
// limits, cumulative acks, and what a new connection sends again.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Chunk, LogLedger, MAX_CHUNK_BYTES, MAX_FRAME_BYTES, MAX_FRAME_CHUNKS, type StreamName, splitUtf8 } from '../src/log-ledger';

/** A ledger holding `n` chunks numbered 1..n (one cut per chunk, so none are merged). */
function ledgerWith(n: number, text = 'x'): LogLedger {
  const ledger = new LogLedger();
  for (let i = 0; i < n; i++) {
    ledger.write('stdout', text);
    ledger.cut(1000 + i);
  }
  return ledger;
}
const seqs = (chunks: Chunk[]) => chunks.map((c) => c.seq);
const texts = (frames: Chunk[][]) => frames.flat().map((c) => c.data);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('numbering', () => {
  it('numbers chunks 1, 2, 3… across cuts, one stream per chunk, stamped with the time of the cut', () => {
    const ledger = new LogLedger();
    ledger.write('stdout', 'a');
    ledger.write('stdout', 'b');
    ledger.write('stderr', 'c');
    ledger.write('stdout', 'd');
    expect(ledger.cut(42)).toBe(3);
    ledger.write('system', 'e');
    expect(ledger.cut(43)).toBe(1);
    expect(ledger.takeUnsent().flat()).toEqual([
      { seq: 1, stream: 'stdout', data: 'ab', ts: 42 },
      { seq: 2, stream: 'stderr', data: 'c', ts: 42 },
      { seq: 3, stream: 'stdout', data: 'd', ts: 42 },
      { seq: 4, stream: 'system', data: 'e', ts: 43 },
    ]);
    expect(ledger.lastSeq).toBe(4);
  });

  it('a cut with nothing written, or only empty writes, makes no chunk', () => {
    const ledger = new LogLedger();
    expect(ledger.cut(1)).toBe(0);
    ledger.write('stdout', '');
    expect(ledger.pendingBytes).toBe(0);
    expect(ledger.cut(2)).toBe(0);
    expect(ledger.lastSeq).toBe(0);
    expect(ledger.oldestFrame()).toBeNull();
  });

  it('any mix of writes, cuts and acks: seqs run 1..lastSeq without a gap, each stream reads back as written', () => {
    const op = fc.oneof(
      fc.record({ write: fc.constantFrom<StreamName>('stdout', 'stderr', 'system'), data: fc.string({ unit: 'binary', maxLength: 40 }) }),
      fc.record({ cut: fc.constant(true) }),
      fc.record({ ack: fc.nat(60) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 4, max: 24 }), (ops, max) => {
        const ledger = new LogLedger(max);
        const written: Record<StreamName, string> = { stdout: '', stderr: '', system: '' };
        // Every chunk is taken right after its cut, so `all` is everything numbered.
        const all: Chunk[] = [];
        let acked = 0;
        for (const o of ops) {
          if ('write' in o) {
            ledger.write(o.write, o.data);
            written[o.write] += o.data;
          } else if ('cut' in o) {
            ledger.cut(0);
            all.push(...ledger.takeUnsent().flat());
          } else {
            ledger.ack(o.ack);
            acked = Math.max(acked, Math.min(o.ack, all.length));
          }
        }
        ledger.cut(0);
        all.push(...ledger.takeUnsent().flat());
        expect(seqs(all)).toEqual(range(1, all.length));
        expect(ledger.lastSeq).toBe(all.length);
        for (const c of all) expect(Buffer.byteLength(c.data)).toBeLessThanOrEqual(max);
        for (const s of ['stdout', 'stderr', 'system'] as const)
          expect(
            all
              .filter((c) => c.stream === s)
              .map((c) => c.data)
              .join(''),
          ).toBe(written[s]);
        expect(ledger.acked).toBe(acked);
        expect(ledger.unackedCount).toBe(all.length - acked);
      }),
    );
  });
});

describe('splitting large writes', () => {
  it('a write past maxChunkBytes becomes full chunks and a remainder, in order', () => {
    const ledger = new LogLedger();
    const text = 'a'.repeat(MAX_CHUNK_BYTES * 2 + 100);
    ledger.write('stdout', text);
    expect(ledger.pendingBytes).toBe(text.length);
    expect(ledger.cut(0)).toBe(3);
    const chunks = ledger.takeUnsent().flat();
    expect(chunks.map((c) => c.data.length)).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 100]);
    expect(chunks.map((c) => c.data).join('')).toBe(text);
  });

  it('small writes fill a chunk up to the limit, then start the next', () => {
    const ledger = new LogLedger(8);
    for (const piece of ['1234', '5678', '90', 'ab', 'c']) ledger.write('stdout', piece);
    ledger.cut(0);
    expect(texts(ledger.takeUnsent())).toEqual(['12345678', '90abc']);
  });

  it('never cuts a character: chunk limits count UTF-8 bytes', () => {
    expect(splitUtf8('ééé', 5)).toEqual(['éé', 'é']);
    expect(splitUtf8('a😀b', 4)).toEqual(['a', '😀', 'b']);
    expect(splitUtf8('short', 64)).toEqual(['short']);
    const ledger = new LogLedger(5);
    ledger.write('stdout', 'ééé');
    expect(ledger.pendingBytes).toBe(6);
    ledger.cut(0);
    expect(texts(ledger.takeUnsent())).toEqual(['éé', 'é']);
  });

  it('any text splits into valid pieces within the limit that join back to it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 4, max: 50 }), (text, max) => {
        const pieces = splitUtf8(text, max);
        expect(pieces.join('')).toBe(text);
        for (const p of pieces) {
          expect(Buffer.byteLength(p)).toBeLessThanOrEqual(max);
          expect(Buffer.from(p).toString()).toBe(p); // no half of a surrogate pair
        }
      }),
    );
  });
});

describe('frames', () => {
  it('hold at most MAX_FRAME_CHUNKS chunks', () => {
    const ledger = ledgerWith(MAX_FRAME_CHUNKS + 500);
    const frames = ledger.takeUnsent();
    expect(frames.map((f) => f.length)).toEqual([MAX_FRAME_CHUNKS, 500]);
    expect(seqs(frames.flat())).toEqual(range(1, MAX_FRAME_CHUNKS + 500));
  });

  it('hold about MAX_FRAME_BYTES at most: full 64 KB chunks go 15 to a frame', () => {
    const ledger = ledgerWith(20, 'y'.repeat(MAX_CHUNK_BYTES));
    const frames = ledger.takeUnsent();
    expect(frames.map((f) => f.length)).toEqual([15, 5]);
    for (const f of frames) expect(f.reduce((n, c) => n + Buffer.byteLength(c.data), 0)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(ledger.oldestFrame()!.length).toBe(15);
  });

  it('a single chunk always makes a frame, however large', () => {
    const ledger = new LogLedger(2 * MAX_FRAME_BYTES);
    ledger.write('stdout', 'z'.repeat(MAX_FRAME_BYTES + 1));
    ledger.cut(0);
    expect(ledger.takeUnsent().map((f) => f.length)).toEqual([1]);
  });
});

describe('acks', () => {
  it('ack(upTo) drops every chunk up to it, and only those', () => {
    const ledger = ledgerWith(5);
    expect(ledger.ack(3)).toBe(true);
    expect(ledger.acked).toBe(3);
    expect(ledger.unackedCount).toBe(2);
    expect(seqs(ledger.oldestFrame()!)).toEqual([4, 5]);
    expect(ledger.ack(5)).toBe(true);
    expect(ledger.unackedCount).toBe(0);
    expect(ledger.oldestFrame()).toBeNull();
  });

  it('a repeated or stale ack changes nothing', () => {
    const ledger = ledgerWith(5);
    ledger.ack(3);
    expect(ledger.ack(3)).toBe(false);
    expect(ledger.ack(1)).toBe(false);
    expect(ledger.ack(0)).toBe(false);
    expect(ledger.acked).toBe(3);
    expect(seqs(ledger.oldestFrame()!)).toEqual([4, 5]);
  });

  it('an ack past the last seq counts up to the last seq: chunks numbered later are still sent', () => {
    const ledger = ledgerWith(2);
    ledger.ack(10);
    expect(ledger.acked).toBe(2);
    ledger.write('stdout', 'later');
    ledger.cut(0);
    expect(ledger.unackedCount).toBe(1);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([3]);
  });
});

describe('sending and resending', () => {
  it('takeUnsent hands each chunk to a connection once; later chunks follow', () => {
    const ledger = ledgerWith(3);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([1, 2, 3]);
    expect(ledger.takeUnsent()).toEqual([]);
    ledger.write('stderr', 'more');
    ledger.cut(0);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([4]);
  });

  it('a new connection starts right after the last ack: what was sent and not acked goes again', () => {
    const ledger = ledgerWith(7);
    ledger.takeUnsent();
    ledger.ack(3);
    expect(ledger.resendFromAck()).toBe(4);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([4, 5, 6, 7]);
    expect(ledger.stats.resentChunks).toBe(4);
  });

  it('chunks numbered while no connection had them are sent, not counted as resent', () => {
    const ledger = ledgerWith(2);
    ledger.takeUnsent();
    ledger.write('stdout', 'while down');
    ledger.cut(0);
    expect(ledger.resendFromAck()).toBe(2);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([1, 2, 3]);
  });

  it('an ack past what this connection was given (the HTTP fallback got further) moves its next send past it', () => {
    const ledger = ledgerWith(3);
    ledger.takeUnsent();
    for (const text of ['4', '5', '6']) {
      ledger.write('stdout', text);
      ledger.cut(0);
    }
    // Without the ack, 4, 5 and 6 would go next.
    ledger.ack(4);
    expect(seqs(ledger.takeUnsent().flat())).toEqual([5, 6]);
  });

  it('oldestFrame is the first unacked frame, sent or not', () => {
    const ledger = ledgerWith(4);
    ledger.takeUnsent();
    expect(seqs(ledger.oldestFrame()!)).toEqual([1, 2, 3, 4]);
    ledger.ack(2);
    expect(seqs(ledger.oldestFrame()!)).toEqual([3, 4]);
  });
});

describe('stats', () => {
  it('count what is pending (UTF-8 bytes), numbered, acked, unacked and resent', () => {
    const ledger = new LogLedger();
    ledger.write('stdout', 'héllo');
    ledger.write('stderr', '€');
    expect(ledger.stats).toEqual({ lastSeq: 0, acked: 0, unacked: 0, pendingBytes: 9, resentChunks: 0 });
    ledger.cut(0);
    expect(ledger.stats).toEqual({ lastSeq: 2, acked: 0, unacked: 2, pendingBytes: 0, resentChunks: 0 });
    ledger.takeUnsent();
    ledger.ack(1);
    ledger.resendFromAck();
    expect(ledger.stats).toEqual({ lastSeq: 2, acked: 1, unacked: 1, pendingBytes: 0, resentChunks: 1 });
    // Nothing was sent on the new connection yet: opening another resends nothing.
    ledger.resendFromAck();
    expect(ledger.stats.resentChunks).toBe(1);
  });
});
