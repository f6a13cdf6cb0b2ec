// Secret masking before anything leaves the box. Each output stream gets a MaskingStream: it masks
// every secret value (and its base64 forms) and holds back a tail that could be the start of a
// secret continuing in the next piece of output, so a secret split across two writes is still masked.

export const MASK = '***';
/** Shorter values would mask ordinary words and digits everywhere; they are not masked. */
export const MIN_SECRET_LENGTH = 3;

/** The strings to hide for a set of secret values: each value, each of its lines, and their base64. */
export function secretPatterns(values: Iterable<string>): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (s.length < MIN_SECRET_LENGTH) return;
    out.add(s);
    const b64 = Buffer.from(s, 'utf8').toString('base64');
    out.add(b64);
    out.add(b64.replace(/=+$/, ''));
  };
  for (const value of values) {
    add(value);
    for (const line of value.split(/\r?\n/)) if (line !== value) add(line.trim());
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class SecretMasker {
  readonly patterns: string[];
  private readonly regex: RegExp | null;

  constructor(secretValues: Iterable<string>) {
    this.patterns = secretPatterns(secretValues);
    // Longest first: at one position the longest secret wins.
    this.regex = this.patterns.length ? new RegExp(this.patterns.map(escapeRegExp).join('|'), 'g') : null;
  }

  mask(text: string): string {
    return this.regex ? text.replace(this.regex, MASK) : text;
  }

  /** Masks `text`; returns the masked safe part and the raw tail that may continue into a secret. */
  maskWithHoldback(text: string): { safe: string; held: string } {
    if (!this.regex) return { safe: text, held: '' };
    let out = '';
    let last = 0;
    this.regex.lastIndex = 0;
    for (let m = this.regex.exec(text); m; m = this.regex.exec(text)) {
      out += text.slice(last, m.index) + MASK;
      last = m.index + m[0].length;
    }
    // Only the unmatched tail after the last match can hold the beginning of a secret.
    const cut = this.holdbackStart(text, last);
    return { safe: out + text.slice(last, cut), held: text.slice(cut) };
  }

  /** Smallest i ≥ from such that text[i:] is a proper prefix of some pattern (text.length if none). */
  private holdbackStart(text: string, from: number): number {
    const longest = this.patterns[0]?.length ?? 0;
    for (let i = Math.max(from, text.length - longest + 1); i < text.length; i++) {
      const tail = text.slice(i);
      if (this.patterns.some((p) => p.length > tail.length && p.startsWith(tail))) return i;
    }
    return text.length;
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
