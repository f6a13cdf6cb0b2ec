// A run's log as the terminal shows it: numbered chunks in, lines out. Chunks are applied strictly in
// sequence order: a repeated seq (replay after a reconnect) is ignored, an early one waits until the
// gap before it is filled, and `missingAfter` tells the caller where to backfill from. Lines keep the
// ANSI style in force at their start, so any line can be rendered alone (the view is virtualised).
import type { LogChunk } from '../../../worker/contracts/results';
import type { LogStream } from '../../../worker/contracts/vocabulary';
import { endStyle, PLAIN, stripAnsi, type Style } from './ansi';

export type { LogChunk, LogStream };

export type PushResult = {
  /** Chunks applied by this call (duplicates and still-waiting chunks are not counted). */
  applied: number;
  /** When chunks are waiting behind a gap: the last contiguous seq; fetch `since=missingAfter`. */
  missingAfter: number | null;
};

export type LogLine = { text: string; start: Style; stream: LogStream };

/** Keeps at most this many chunks waiting behind a gap, so a bad stream cannot grow memory forever. */
const MAX_PENDING = 10_000;

export class LogBuffer {
  /** Highest seq applied; everything from 1..lastSeq is in the buffer. */
  lastSeq = 0;
  /** Bumped on every change, so views can cheaply tell whether to re-render. */
  version = 0;
  /** Lines dropped from the front to respect maxLines. */
  dropped = 0;

  private lines: string[] = [];
  private starts: Style[] = [];
  private streams: LogStream[] = [];
  private partial = '';
  private partialStart: Style = PLAIN;
  private partialStream: LogStream = 'stdout';
  private style: Style = PLAIN;
  private pending = new Map<number, LogChunk>();
  /** Lower-cased visible text of each complete line, built as lines arrive so a search is one scan. */
  private searchable: string[] = [];

  constructor(private readonly maxLines = 250_000) {}

  /** Complete lines plus the unterminated last line, if any. */
  get lineCount(): number {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  line(i: number): LogLine | undefined {
    if (i < this.lines.length) return { text: this.lines[i]!, start: this.starts[i]!, stream: this.streams[i]! };
    if (i === this.lines.length && this.partial) return { text: lastFrame(this.partial), start: this.partialStart, stream: this.partialStream };
    return undefined;
  }

  push(chunks: readonly LogChunk[]): PushResult {
    let applied = 0;
    for (const chunk of chunks) {
      if (!Number.isSafeInteger(chunk.seq) || chunk.seq <= this.lastSeq || this.pending.has(chunk.seq)) continue;
      if (this.pending.size >= MAX_PENDING && chunk.seq !== this.lastSeq + 1) continue;
      this.pending.set(chunk.seq, chunk);
    }
    for (let next = this.pending.get(this.lastSeq + 1); next; next = this.pending.get(this.lastSeq + 1)) {
      this.pending.delete(next.seq);
      this.append(next.data, next.stream);
      this.lastSeq = next.seq;
      applied++;
    }
    if (applied) {
      this.trim();
      this.version++;
    }
    return { applied, missingAfter: this.pending.size ? this.lastSeq : null };
  }

  /** A line from the viewer side (e.g. "log truncated"), shown as a system line. */
  note(text: string) {
    if (this.partial) this.finishLine();
    this.lines.push(text);
    this.searchable.push(text.toLowerCase());
    this.starts.push(PLAIN);
    this.streams.push('system');
    this.trim();
    this.version++;
  }

  /** Indices of lines whose visible text contains `query` (case-insensitive). */
  search(query: string, limit = 10_000): number[] {
    const needle = query.toLowerCase();
    if (!needle) return [];
    const hits: number[] = [];
    for (let i = 0; i < this.searchable.length && hits.length < limit; i++) {
      if (this.searchable[i]!.includes(needle)) hits.push(i);
    }
    if (this.partial && hits.length < limit && stripAnsi(lastFrame(this.partial)).toLowerCase().includes(needle)) hits.push(this.lines.length);
    return hits;
  }

  /** The whole log as plain text (for copy / download). */
  plainText(): string {
    const out: string[] = [];
    for (let i = 0; i < this.lineCount; i++) out.push(stripAnsi(this.line(i)!.text));
    return out.join('\n');
  }

  private append(data: string, stream: LogStream) {
    let from = 0;
    while (from <= data.length) {
      const nl = data.indexOf('\n', from);
      const piece = data.slice(from, nl === -1 ? data.length : nl);
      if (piece) {
        if (!this.partial) {
          this.partialStart = this.style;
          this.partialStream = stream;
        }
        this.partial += piece;
      }
      if (nl === -1) break;
      this.finishLine();
      from = nl + 1;
    }
  }

  private finishLine() {
    const raw = this.partial.endsWith('\r') ? this.partial.slice(0, -1) : this.partial;
    const start = this.partial ? this.partialStart : this.style;
    const text = lastFrame(raw);
    this.lines.push(text);
    this.searchable.push(stripAnsi(text).toLowerCase());
    this.starts.push(start);
    this.streams.push(this.partial ? this.partialStream : 'stdout');
    this.style = endStyle(raw, start);
    this.partial = '';
  }

  private trim() {
    const excess = this.lines.length - this.maxLines;
    if (excess > 0) {
      this.lines.splice(0, excess);
      this.starts.splice(0, excess);
      this.streams.splice(0, excess);
      this.searchable.splice(0, excess);
      this.dropped += excess;
    }
  }
}

/** A carriage return without a newline redraws the line (progress bars): keep the last frame. */
function lastFrame(line: string): string {
  const cr = line.lastIndexOf('\r');
  return cr === -1 ? line : line.slice(cr + 1);
}
