// ANSI escape sequences in run logs: SGR colours and attributes become styled segments; every other
// escape (cursor moves, erase-line, OSC hyperlinks and titles) is dropped so it never shows as junk.

export type Style = Readonly<{
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}>;

export type Segment = { text: string; style: Style };

export const PLAIN: Style = Object.freeze({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false });

/** The 16 basic colours, tuned to read well on the terminal's dark background. */
export const PALETTE = [
  '#1e293b',
  '#f87171',
  '#4ade80',
  '#facc15',
  '#60a5fa',
  '#c084fc',
  '#22d3ee',
  '#e2e8f0',
  '#64748b',
  '#fca5a5',
  '#86efac',
  '#fde047',
  '#93c5fd',
  '#d8b4fe',
  '#67e8f9',
  '#ffffff',
] as const;

// CSI (ESC [ params letter), OSC (ESC ] ... BEL or ESC \), and two-byte escapes.
const ESCAPE = /\x1b(?:\[([0-9;:?]*)([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])/g;

function xterm256(n: number): string | null {
  if (!Number.isInteger(n) || n < 0 || n > 255) return null;
  if (n < 16) return PALETTE[n]!;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
}

const byte = (s: string | undefined) => {
  const n = Number(s);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : null;
};

/** Applies one SGR parameter list (`1;31`, `38;5;208`, …) to a style; unknown codes are ignored. */
export function applySgr(style: Style, params: string): Style {
  const codes = params === '' ? ['0'] : params.split(/[;:]/);
  const next: { -readonly [K in keyof Style]: Style[K] } = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] === '' ? 0 : Number(codes[i]);
    if (code === 0) Object.assign(next, PLAIN);
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 7) next.inverse = true;
    else if (code === 22) {
      next.bold = false;
      next.dim = false;
    } else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code === 27) next.inverse = false;
    else if (code >= 30 && code <= 37) next.fg = PALETTE[code - 30]!;
    else if (code >= 90 && code <= 97) next.fg = PALETTE[code - 90 + 8]!;
    else if (code === 39) next.fg = null;
    else if (code >= 40 && code <= 47) next.bg = PALETTE[code - 40]!;
    else if (code >= 100 && code <= 107) next.bg = PALETTE[code - 100 + 8]!;
    else if (code === 49) next.bg = null;
    else if (code === 38 || code === 48) {
      const key = code === 38 ? 'fg' : 'bg';
      if (codes[i + 1] === '5') {
        next[key] = xterm256(Number(codes[i + 2]));
        i += 2;
      } else if (codes[i + 1] === '2') {
        const [r, g, b] = [byte(codes[i + 2]), byte(codes[i + 3]), byte(codes[i + 4])];
        next[key] = r === null || g === null || b === null ? null : `rgb(${r},${g},${b})`;
        i += 4;
      }
    }
  }
  if (sameStyle(next, style)) return style;
  return sameStyle(next, PLAIN) ? PLAIN : Object.freeze(next);
}

const sameStyle = (a: Style, b: Style) =>
  a.fg === b.fg && a.bg === b.bg && a.bold === b.bold && a.dim === b.dim && a.italic === b.italic && a.underline === b.underline && a.inverse === b.inverse;

/** Splits text into styled segments, starting from `start` (the style the previous line ended with). */
export function parseAnsi(text: string, start: Style = PLAIN): { segments: Segment[]; end: Style } {
  if (!text.includes('\x1b')) return { segments: text ? [{ text, style: start }] : [], end: start };
  const segments: Segment[] = [];
  let style = start;
  let last = 0;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    if (m.index > last) segments.push({ text: text.slice(last, m.index), style });
    if (m[2] === 'm') style = applySgr(style, m[1] ?? '');
    last = m.index + m[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), style });
  return { segments, end: style };
}

/** The style in force after `text`, without building segments (used when lines are appended). */
export function endStyle(text: string, start: Style): Style {
  if (!text.includes('\x1b')) return start;
  let style = start;
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    if (m[2] === 'm') style = applySgr(style, m[1] ?? '');
  }
  return style;
}

export const stripAnsi = (text: string) => (text.includes('\x1b') ? text.replace(ESCAPE, '') : text);

/** Inline CSS for a style (set through the DOM, so the CSP needs no 'unsafe-inline' for it). */
export function styleToCss(style: Style): Record<string, string> | undefined {
  if (style === PLAIN) return undefined;
  const css: Record<string, string> = {};
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? '#0f172a', fg ?? '#e2e8f0'];
  if (fg) css.color = fg;
  if (bg) css.backgroundColor = bg;
  if (style.bold) css.fontWeight = '700';
  if (style.dim) css.opacity = '0.7';
  if (style.italic) css.fontStyle = 'italic';
  if (style.underline) css.textDecoration = 'underline';
  return css;
}
