// Secret masking, one implementation for the agent (log stream, test results, report files) and the
// Worker (results on complete and ingest, AI prompts). Portable: TextEncoder and btoa, no Node Buffer.
//
// A secret leaks not only as itself: tests and reports write it base64-encoded (Basic auth headers),
// URL-encoded (query strings, form bodies), JSON-escaped (request dumps, JSON reports) or HTML-escaped
// (HTML/XML reports). Every such form of every value, and of each line of a multi-line value, is masked.
// MaskingStream masks a stream written in pieces: it holds back a tail that could still become a
// secret, so a secret split across two writes is masked all the same.
import type { TestResult } from '../contracts/results';

export const MASK = '***';
/** Shorter values (and forms) would mask ordinary words and digits everywhere; they are not masked. */
export const MIN_SECRET_LENGTH = 3;

const utf8 = new TextEncoder();

function base64(s: string): string {
  let binary = '';
  for (const byte of utf8.encode(s)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Lone UTF-16 surrogates (possible in any stored string) as U+FFFD, as URL encoders write them; encodeURIComponent throws on them. */
const wellFormed = (s: string) => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
const lowerHexEscapes = (s: string) => s.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
/** JSON.stringify with every non-ASCII character as \uXXXX too (Python's json.dumps, Jackson's ESCAPE_NON_ASCII). */
const asciiJson = (json: string) => json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const htmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);

/**
 * The forms in which `s` can appear in output: itself, base64, URL-, JSON-escaped, and each of those
 * HTML/XML-escaped (a JSON dump or a URL inside an HTML report or a JUnit attribute).
 */
export function encodedForms(s: string): string[] {
  const b64 = base64(s);
  const uri = encodeURIComponent(wellFormed(s));
  const json = JSON.stringify(s).slice(1, -1);
  const forms = [
    s,
    b64,
    b64.replace(/=+$/, ''),
    b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), // base64url (JWTs, URL-safe tokens)
    uri,
    lowerHexEscapes(uri),
    uri.replace(/%20/g, '+'),
    new URLSearchParams([['', s]]).toString().slice(1), // application/x-www-form-urlencoded (encodes !'()~ too)
    json,
    asciiJson(json),
    json.replace(/\//g, '\\/'),
  ];
  return [...forms, ...forms.map(htmlEscape)];
}

/** The strings to hide for a set of secret values, longest first: each form of each value and of each of its lines. */
export function secretPatterns(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    const lines = value
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== value);
    for (const s of [value, ...lines]) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      for (const form of encodedForms(s)) out.add(form);
    }
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class SecretMasker {
  readonly patterns: string[];
  private readonly regex: RegExp | null;
  /** First characters of the patterns: a tail starting with any other cannot begin a secret. */
  private readonly starts: Set<string>;

  constructor(secretValues: Iterable<string>) {
    this.patterns = secretPatterns(secretValues);
    this.starts = new Set(this.patterns.map((p) => p[0]!));
    // Longest first: at one position the longest secret wins.
    this.regex = this.patterns.length ? new RegExp(this.patterns.map(escapeRegExp).join('|'), 'g') : null;
  }

  get empty(): boolean {
    return this.regex === null;
  }

  mask(text: string): string {
    return this.regex ? text.replace(this.regex, MASK) : text;
  }

  /** A test result with every text field masked (testId too, so that it stays the same across runs). */
  maskTestResult(t: TestResult): TestResult {
    if (!this.regex) return t;
    const m = (s: string | undefined) => (s === undefined ? undefined : this.mask(s));
    return {
      ...t,
      testId: this.mask(t.testId),
      title: this.mask(t.title),
      file: m(t.file),
      suite: m(t.suite),
      ...(t.error ? { error: { message: this.mask(t.error.message), stack: m(t.error.stack), location: m(t.error.location) } } : {}),
      ...(t.attachments ? { attachments: t.attachments.map((a) => ({ ...a, name: this.mask(a.name) })) } : {}),
    };
  }

  /**
   * Masks `text`; returns the masked part that is safe to send now and the raw tail held back, which
   * may continue into a secret (or into a longer form of one already matched) in the next piece.
   */
  maskWithHoldback(text: string): { safe: string; held: string } {
    if (!this.regex) return { safe: text, held: '' };
    const holds = this.holdPoints(text);
    let out = '';
    let last = 0;
    this.regex.lastIndex = 0;
    for (let m = this.regex.exec(text); m; m = this.regex.exec(text)) {
      // A tail that could still grow (into this match or a longer pattern) starts at or before the match: stop there.
      if (holds.some((h) => h >= last && h <= m!.index)) break;
      out += text.slice(last, m.index) + MASK;
      last = m.index + m[0].length;
    }
    const cut = holds.find((h) => h >= last) ?? text.length;
    return { safe: out + text.slice(last, cut), held: text.slice(cut) };
  }

  /** Positions i (ascending) whose tail text[i:] is a proper prefix of some pattern. */
  private holdPoints(text: string): number[] {
    const longest = this.patterns[0]?.length ?? 0;
    const points: number[] = [];
    for (let i = Math.max(0, text.length - longest + 1); i < text.length; i++) {
      if (!this.starts.has(text[i]!)) continue;
      const tail = text.slice(i);
      if (this.patterns.some((p) => p.length > tail.length && p.startsWith(tail))) points.push(i);
    }
    return points;
  }
}

/** One output stream's masking state (stdout and stderr are masked separately). */
export class MaskingStream {
  private held = '';
  constructor(private readonly masker: SecretMasker) {}

  /** Masked text that is safe to send now. */
  push(text: string): string {
    const { safe, held } = this.masker.maskWithHoldback(this.held + text);
    this.held = held;
    return safe;
  }

  /** Whether a tail is being held back waiting for more output. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** End of stream: the held tail cannot become a whole secret any more. */
  end(): string {
    const rest = this.masker.mask(this.held);
    this.held = '';
    return rest;
  }
}
