// Secret masking (worker/lib/secret-masker.ts, shared by the agent and the Worker): every encoded form
// of a secret, a secret split across writes at every border, test results, and report files.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, MaskingStream, SecretMasker } from '../../worker/lib/secret-masker';
import { maskReportFile } from '../src/report-masking';

const feed = (masker: SecretMasker, pieces: string[]) => {
  const stream = new MaskingStream(masker);
  return pieces.map((p) => stream.push(p)).join('') + stream.end();
};

// Space, slash, plus, quotes, ampersand, angle brackets, backslash, tilde, question mark and a non-ASCII
// letter: every form differs from the others (its base64 has '/' and padding, so base64url differs too).
const SECRET = `s3cr/t+pa ss"w'örd&<x>\\~??z`;
const htmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const utf8b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Each form a test or report might write the secret in, as real encoders produce it. */
const FORMS: Record<string, string> = {
  raw: SECRET,
  base64: utf8b64(SECRET),
  'base64 without padding': utf8b64(SECRET).replace(/=+$/, ''),
  base64url: Buffer.from(SECRET, 'utf8').toString('base64url'),
  encodeURIComponent: encodeURIComponent(SECRET),
  'form encoding (URLSearchParams)': new URLSearchParams({ k: SECRET }).toString().slice(2),
  'form encoding (+ for spaces)': encodeURIComponent(SECRET).replace(/%20/g, '+'),
  'lower-case percent escapes': encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
  'JSON-escaped, ASCII only': JSON.stringify(SECRET).slice(1, -1).replace('ö', '\\u00f6'),
  'HTML-escaped': htmlEscape(SECRET),
  'JSON-escaped, then HTML-escaped (a JSON dump in an HTML report)': htmlEscape(JSON.stringify(SECRET).slice(1, -1)),
};

describe('SecretMasker', () => {
  it('the forms under test are all different from each other', () => {
    expect(new Set(Object.values(FORMS)).size).toBe(Object.keys(FORMS).length);
  });

  for (const [name, form] of Object.entries(FORMS)) {
    it(`masks the ${name} form`, () => {
      const m = new SecretMasker([SECRET]);
      expect(m.mask(`before ${form} after`)).toBe(`before ${MASK} after`);
    });

    it(`masks the ${name} form split across two writes at every border`, () => {
      const masker = new SecretMasker([SECRET]);
      const text = `before ${form} after`;
      for (let cut = 0; cut <= text.length; cut++) {
        expect(feed(masker, [text.slice(0, cut), text.slice(cut)]), `cut at ${cut}`).toBe(`before ${MASK} after`);
      }
    });
  }

  it('takes a secret with a lone UTF-16 surrogate (any stored string may hold one) and masks it (found by the API fuzz: encodeURIComponent threw)', () => {
    const secret = 'pa\uD800ss-\uDC00word';
    const masker = new SecretMasker([secret]);
    expect(masker.mask(`x ${secret} y`)).toBe(`x ${MASK} y`);
    expect(masker.mask(`q=${encodeURIComponent('pa\uFFFDss-\uFFFDword')}`)).toBe(`q=${MASK}`);
  });

  it('masks JSON with newlines, tabs and control characters escaped', () => {
    const secret = 'line1\nline2\t"quoted"\u0001end';
    const json = JSON.stringify({ password: secret });
    expect(new SecretMasker([secret]).mask(json)).toBe(`{"password":"${MASK}"}`);
  });

  it('masks each line of a multi-line secret and ignores values too short to mask', () => {
    const m = new SecretMasker(['-----BEGIN KEY-----\nabcdefghijk\n-----END KEY-----', 'ab']);
    expect(m.mask('line abcdefghijk here; ab stays')).toBe(`line ${MASK} here; ab stays`);
    expect(m.mask(`b64 ${utf8b64('abcdefghijk')}`)).toBe(`b64 ${MASK}`);
  });

  it('holds back a match that could still grow into a longer form (base64 padding split off)', () => {
    const masker = new SecretMasker(['abcd']); // base64 YWJjZA== and YWJjZA
    for (const pieces of [
      ['x YWJjZA', '== y'],
      ['x YWJjZA=', '= y'],
      ['x YW', 'JjZA', '=', '= y'],
    ]) {
      expect(feed(masker, pieces)).toBe(`x ${MASK} y`);
    }
  });

  it('never lets a secret through in any form, however the output is cut (property)', () => {
    const encoders: Array<(s: string) => string> = [
      (s) => s,
      utf8b64,
      (s) => utf8b64(s).replace(/=+$/, ''),
      encodeURIComponent,
      (s) => new URLSearchParams({ k: s }).toString().slice(2),
      (s) => JSON.stringify(s).slice(1, -1),
    ];
    fc.assert(
      fc.property(
        fc.string({ minLength: 4, maxLength: 12 }).filter((s) => !s.includes('*')),
        fc.constantFrom(...encoders),
        fc.array(fc.string({ maxLength: 8 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (secret, encode, fillers, cuts) => {
          const form = encode(secret);
          const text = fillers.join(form);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const pieces: string[] = [];
          let last = 0;
          for (const p of points) {
            pieces.push(text.slice(last, p));
            last = p;
          }
          pieces.push(text.slice(last));
          const masker = new SecretMasker([secret]);
          const out = feed(masker, pieces);
          expect(out.includes(form)).toBe(false);
          // Unsplit and split output agree: holding back never changes the text.
          expect(out).toBe(masker.mask(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds back only a possible secret prefix and releases it at the end', () => {
    const stream = new MaskingStream(new SecretMasker(['password123']));
    expect(stream.push('log line pass')).toBe('log line ');
    expect(stream.holding).toBe(true);
    expect(stream.push('ive voice\n')).toBe('passive voice\n');
    expect(stream.push('ends with pa')).toBe('ends with ');
    expect(stream.end()).toBe('pa');
  });

  it('masks every text field of a test result', () => {
    const m = new SecretMasker([SECRET]);
    const masked = m.maskTestResult({
      testId: `login ${SECRET}`,
      title: `logs in as ${FORMS.encodeURIComponent}`,
      file: `t/${FORMS.base64}.ts`,
      suite: `s ${SECRET}`,
      status: 'failed',
      durationMs: 1,
      retry: 0,
      error: { message: `got ${FORMS['JSON-escaped']}`, stack: `at ${FORMS['HTML-escaped']}`, location: `${SECRET}:1:1` },
      attachments: [{ name: `shot-${SECRET}.png`, contentType: 'image/png' }],
    });
    expect(JSON.stringify(masked)).not.toMatch(/s3cr|czNjc|ör|%C3/);
    expect(masked).toMatchObject({
      testId: `login ${MASK}`,
      title: `logs in as ${MASK}`,
      error: { message: `got ${MASK}`, stack: `at ${MASK}`, location: `${MASK}:1:1` },
    });
  });
});

describe('report files', () => {
  const masker = new SecretMasker([SECRET]);
  const file = (path: string, bytes: Buffer) => ({ path, bytes, contentType: 'x' });

  it('masks text files, by extension or by content', () => {
    for (const name of [
      'notes.txt',
      'report.html',
      'junit.xml',
      'results.json',
      'data.csv',
      'README.md',
      'app.js',
      'style.css',
      'run.log',
      'chart.svg',
      'no-extension',
      'odd.bin',
    ]) {
      const out = maskReportFile(file(name, Buffer.from(`a ${SECRET} b ${FORMS.base64} c ${FORMS['HTML-escaped']}\n`)), masker);
      expect(out.bytes.toString('utf8'), name).toBe(`a ${MASK} b ${MASK} c ${MASK}\n`);
    }
  });

  it('masks a Latin-1 text file and keeps its other bytes exactly', () => {
    const bytes = Buffer.concat([Buffer.from([0xe9, 0x20]), Buffer.from('token=tok_ABC123 '), Buffer.from([0xfc, 0x0a])]);
    const out = maskReportFile(file('legacy.log', bytes), new SecretMasker(['tok_ABC123']));
    expect([...out.bytes]).toEqual([0xe9, 0x20, ...Buffer.from('token=*** '), 0xfc, 0x0a]);
  });

  it('leaves binary files byte for byte, even when the secret is in them', () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]), Buffer.from(SECRET)]);
    expect(maskReportFile(file('shot.png', png), masker).bytes.equals(png)).toBe(true);
    // Valid UTF-8 but named as binary (a zip could be), and unnamed bytes with NULs: untouched too.
    const zipLike = Buffer.from(`PK ${SECRET}`);
    expect(maskReportFile(file('trace.zip', zipLike), masker).bytes.equals(zipLike)).toBe(true);
    const withNul = Buffer.from(`\0${SECRET}`);
    expect(maskReportFile(file('blob.dat', withNul), masker).bytes.equals(withNul)).toBe(true);
  });
});
