// Secret masking, including a secret split across two writes at every possible border.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, MaskingStream, SecretMasker } from '../src/masker';

const feed = (masker: SecretMasker, pieces: string[]) => {
  const stream = new MaskingStream(masker);
  return pieces.map((p) => stream.push(p)).join('') + stream.end();
};

describe('SecretMasker', () => {
  it('masks a value and its base64 forms', () => {
    const m = new SecretMasker(['s3cr3t-value']);
    const b64 = Buffer.from('s3cr3t-value').toString('base64');
    expect(m.mask(`token=s3cr3t-value b64=${b64} again s3cr3t-value`)).toBe(`token=${MASK} b64=${MASK} again ${MASK}`);
  });

  it('masks each line of a multi-line secret and ignores values too short to mask', () => {
    const m = new SecretMasker(['-----BEGIN KEY-----\nabcdefghijk\n-----END KEY-----', 'ab']);
    expect(m.mask('line abcdefghijk here; ab stays')).toBe(`line ${MASK} here; ab stays`);
  });

  it('masks a secret split across two writes at every border', () => {
    const secret = 'hunter2-PASSWORD';
    const masker = new SecretMasker([secret]);
    const text = `before ${secret} after`;
    for (let cut = 0; cut <= text.length; cut++) {
      expect(feed(masker, [text.slice(0, cut), text.slice(cut)])).toBe(`before ${MASK} after`);
    }
  });

  it('never lets a secret through, however the output is cut (property)', () => {
    fc.assert(fc.property(
      fc.string({ minLength: 4, maxLength: 12 }).filter((s) => !s.includes('*')),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      (secret, fillers, cuts) => {
        const text = fillers.join(secret);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces: string[] = [];
        let last = 0;
        for (const p of points) { pieces.push(text.slice(last, p)); last = p; }
        pieces.push(text.slice(last));
        const out = feed(new SecretMasker([secret]), pieces);
        expect(out.includes(secret)).toBe(false);
        // Unsplit and split output agree: holding back never changes the text.
        expect(out).toBe(new SecretMasker([secret]).mask(text));
      },
    ), { numRuns: 300 });
  });

  it('holds back only a possible secret prefix and releases it at the end', () => {
    const stream = new MaskingStream(new SecretMasker(['password123']));
    expect(stream.push('log line pass')).toBe('log line ');
    expect(stream.holding).toBe(true);
    expect(stream.push('ive voice\n')).toBe('passive voice\n');
    expect(stream.push('ends with pa')).toBe('ends with ');
    expect(stream.end()).toBe('pa');
  });
});
