// The output cap forwards exactly its size, whatever the pieces, and counts the rest as dropped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSize, OutputCap } from '../src/output-cap';

describe('OutputCap', () => {
  it('forwards the first maxBytes bytes in order and counts the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 }), fc.integer({ min: 1, max: 3000 }), (pieces, max) => {
        const cap = new OutputCap(max);
        const all = Buffer.concat(pieces.map((p) => Buffer.from(p)));
        const kept = Buffer.concat(pieces.map((p) => cap.take(Buffer.from(p))));
        expect(kept).toEqual(all.subarray(0, max));
        expect(cap.dropped).toBe(Math.max(0, all.length - max));
        expect(cap.truncated).toBe(all.length > max);
      }),
    );
  });

  it('names sizes as people read them', () => {
    expect(formatSize(19 * 1024 * 1024)).toBe('19 MiB');
    expect(formatSize(196.00002 * 1024 * 1024)).toBe('196 MiB');
    expect(formatSize(1.25 * 1024 * 1024)).toBe('1.3 MiB');
    expect(formatSize(64 * 1024)).toBe('64 KiB');
  });
});
