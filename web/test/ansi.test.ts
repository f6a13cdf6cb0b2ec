import { describe, expect, it } from 'vitest';
import { applySgr, endStyle, PALETTE, parseAnsi, PLAIN, stripAnsi, styleToCss } from '../src/lib/ansi';

describe('parseAnsi', () => {
  it('returns plain text as one unstyled segment', () => {
    expect(parseAnsi('hello')).toEqual({ segments: [{ text: 'hello', style: PLAIN }], end: PLAIN });
  });

  it('colours text between SGR codes and resets on 0', () => {
    const { segments, end } = parseAnsi('a\x1b[31mred\x1b[0mb');
    expect(segments.map((s) => s.text)).toEqual(['a', 'red', 'b']);
    expect(segments[1]!.style.fg).toBe(PALETTE[1]);
    expect(segments[2]!.style).toBe(PLAIN);
    expect(end).toBe(PLAIN);
  });

  it('handles bold + bright colours, 256 colours and truecolour', () => {
    const { segments } = parseAnsi('\x1b[1;92mok\x1b[38;5;196mx\x1b[48;2;1;2;3my');
    expect(segments[0]!.style).toMatchObject({ bold: true, fg: PALETTE[10] });
    expect(segments[1]!.style.fg).toBe('rgb(255,0,0)');
    expect(segments[2]!.style.bg).toBe('rgb(1,2,3)');
    expect(segments[2]!.style.bold).toBe(true);
  });

  it('carries the style across lines through the start parameter', () => {
    const first = parseAnsi('\x1b[33mwarn starts');
    const second = parseAnsi('still yellow', first.end);
    expect(second.segments[0]!.style.fg).toBe(PALETTE[3]);
  });

  it('drops cursor moves, erase-line and OSC hyperlinks instead of printing them', () => {
    const text = '\x1b[2K\x1b[1Gprogress \x1b]8;;https://x.test\x07link\x1b]8;;\x07 done\x1b[K';
    expect(stripAnsi(text)).toBe('progress link done');
    expect(
      parseAnsi(text)
        .segments.map((s) => s.text)
        .join(''),
    ).toBe('progress link done');
  });

  it('ignores malformed and unknown parameters without throwing', () => {
    expect(applySgr(PLAIN, '38;5;999').fg).toBeNull();
    expect(applySgr(PLAIN, '38;2;300;0;0').fg).toBeNull();
    expect(applySgr(PLAIN, '12345')).toBe(PLAIN);
    expect(
      parseAnsi('\x1b[')
        .segments.map((s) => s.text)
        .join(''),
    ).toBe('\x1b[');
  });

  it('endStyle agrees with parseAnsi', () => {
    const text = 'x\x1b[4;35my\x1b[24mz';
    expect(endStyle(text, PLAIN)).toEqual(parseAnsi(text).end);
  });

  it('turns styles into CSS, swapping colours for inverse', () => {
    expect(styleToCss(PLAIN)).toBeUndefined();
    expect(styleToCss(applySgr(PLAIN, '31;1'))).toEqual({ color: PALETTE[1], fontWeight: '700' });
    expect(styleToCss(applySgr(PLAIN, '7;32'))).toMatchObject({ color: '#0f172a', backgroundColor: PALETTE[2] });
  });
});
