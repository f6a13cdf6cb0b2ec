import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PALETTE } from '../src/lib/ansi';
import { LogBuffer, type LogChunk } from '../src/lib/log-buffer';

const chunk = (seq: number, data: string, stream: LogChunk['stream'] = 'stdout'): LogChunk => ({ seq, stream, data });
const texts = (b: LogBuffer) => Array.from({ length: b.lineCount }, (_, i) => b.line(i)!.text);

describe('LogBuffer', () => {
  it('splits chunks into lines and keeps an unterminated last line', () => {
    const b = new LogBuffer();
    b.push([chunk(1, 'one\ntw'), chunk(2, 'o\nthree')]);
    expect(texts(b)).toEqual(['one', 'two', 'three']);
    b.push([chunk(3, ' more\n')]);
    expect(texts(b)).toEqual(['one', 'two', 'three more']);
    expect(b.lastSeq).toBe(3);
  });

  it('ignores a replayed sequence number (reconnect overlap): no duplicate lines', () => {
    const b = new LogBuffer();
    b.push([chunk(1, 'a\n'), chunk(2, 'b\n')]);
    const r = b.push([chunk(2, 'b\n'), chunk(3, 'c\n')]);
    expect(r).toEqual({ applied: 1, missingAfter: null });
    expect(texts(b)).toEqual(['a', 'b', 'c']);
  });

  it('holds chunks behind a gap and reports where to backfill from', () => {
    const b = new LogBuffer();
    b.push([chunk(1, 'a\n')]);
    expect(b.push([chunk(4, 'd\n')])).toEqual({ applied: 0, missingAfter: 1 });
    expect(texts(b)).toEqual(['a']);
    expect(b.push([chunk(2, 'b\n'), chunk(3, 'c\n')])).toEqual({ applied: 3, missingAfter: null });
    expect(texts(b)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps the ANSI style in force at the start of each line', () => {
    const b = new LogBuffer();
    b.push([chunk(1, '\x1b[31mred\nstill red\x1b[0m\nplain\n')]);
    expect(b.line(1)!.start.fg).toBe(PALETTE[1]);
    expect(b.line(2)!.start.fg).toBeNull();
  });

  it('keeps the last frame of carriage-return progress lines and handles CRLF', () => {
    const b = new LogBuffer();
    b.push([chunk(1, '10%\r50%\r100%\nwin\r\n')]);
    expect(texts(b)).toEqual(['100%', 'win']);
  });

  it('remembers which stream started each line and adds viewer notes', () => {
    const b = new LogBuffer();
    b.push([chunk(1, 'boom\n', 'stderr'), chunk(2, 'pulling image\n', 'system')]);
    b.note('log truncated');
    expect([0, 1, 2].map((i) => b.line(i)!.stream)).toEqual(['stderr', 'system', 'system']);
    expect(b.line(2)!.text).toBe('log truncated');
  });

  it('searches visible text, case-insensitively, ignoring escape codes', () => {
    const b = new LogBuffer();
    b.push([chunk(1, 'ok\n\x1b[31mERR\x1b[0mor here\nfine\nerror again\n')]);
    expect(b.search('error')).toEqual([1, 3]);
    expect(b.search('')).toEqual([]);
  });

  it('caps memory by dropping the oldest lines', () => {
    const b = new LogBuffer(3);
    b.push([chunk(1, '1\n2\n3\n4\n5\n')]);
    expect(texts(b)).toEqual(['3', '4', '5']);
    expect(b.dropped).toBe(2);
  });

  it('takes 100k lines in one go and finds the last one', () => {
    const b = new LogBuffer();
    const chunks = Array.from({ length: 1000 }, (_, c) => chunk(c + 1, Array.from({ length: 100 }, (_, i) => `line ${c * 100 + i}\n`).join('')));
    b.push(chunks);
    expect(b.lineCount).toBe(100_000);
    expect(b.search('line 99999')).toEqual([99_999]);
  });

  it('ends with the same lines whatever the delivery order, duplication or chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z \x1b[0-9;m\n\r]{0,12}$/), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 60 }),
        (datas, noise) => {
          const chunks = datas.map((d, i) => chunk(i + 1, d));
          const reference = new LogBuffer();
          reference.push(chunks);
          // Deliver in a shuffled order with repeats, in several batches.
          const delivery = [...chunks, ...noise.map((n) => chunks[n % chunks.length]!)];
          for (let i = delivery.length - 1; i > 0; i--) {
            const j = (noise[i % Math.max(1, noise.length)] ?? i) % (i + 1);
            [delivery[i], delivery[j]] = [delivery[j]!, delivery[i]!];
          }
          const b = new LogBuffer();
          for (let i = 0; i < delivery.length; i += 3) b.push(delivery.slice(i, i + 3));
          expect(b.lastSeq).toBe(chunks.length);
          expect(texts(b)).toEqual(texts(reference));
          expect(b.plainText()).toBe(reference.plainText());
        },
      ),
    );
  });
});
