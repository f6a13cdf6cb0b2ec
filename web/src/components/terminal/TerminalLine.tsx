// One log line: its number (drawn by CSS) and its text in the colours its ANSI escapes ask for.
import { parseAnsi, styleToCss } from '../../lib/ansi';
import type { LogBuffer } from '../../lib/log-buffer';

export function TerminalLine({ buffer, index, highlight }: { buffer: LogBuffer; index: number; highlight: boolean }) {
  const line = buffer.line(index);
  if (!line) return null;
  const { segments } = parseAnsi(line.text, line.start);
  const streamClass = line.stream === 'stderr' ? 'text-red-300' : line.stream === 'system' ? 'text-sky-300' : '';
  return (
    <div data-line={index + 1 + buffer.dropped} class={`flex h-5 ${highlight ? 'bg-amber-500/30' : ''}`}>
      {/* The number is drawn by CSS, so it is neither copied with the log nor matched as log text. */}
      <span
        data-n={index + 1 + buffer.dropped}
        class='w-14 shrink-0 pr-3 text-right text-slate-500 select-none before:content-[attr(data-n)]'
        aria-hidden='true'
      />
      <span class={`whitespace-pre ${streamClass}`}>
        {segments.map((s, i) => (
          <span key={i} style={styleToCss(s.style)}>
            {s.text}
          </span>
        ))}
      </span>
    </div>
  );
}
