// The live log view. Only the lines in (or near) the viewport are in the DOM, so 100k+ lines scroll
// smoothly; each line is rendered from its own text and start style (LogBuffer keeps both). It
// follows the tail until the user scrolls up, and has search with next/previous.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { parseAnsi, styleToCss } from '../lib/ansi';
import type { LogBuffer } from '../lib/log-buffer';
import { Button, focusRing } from './ui';

const LINE_HEIGHT = 20;
const OVERSCAN = 30;

type Props = { buffer: LogBuffer; version: number; live: boolean; emptyText?: string };

function Line({ buffer, index, highlight }: { buffer: LogBuffer; index: number; highlight: boolean }) {
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

export function Terminal({ buffer, version, live, emptyText = 'Waiting for output…' }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [typed, setTyped] = useState('');
  const [hitIndex, setHitIndex] = useState(0);
  const programmatic = useRef(false);

  const count = buffer.lineCount;
  const hits = useMemo(() => (query.length >= 2 ? buffer.search(query) : []), [query, version, buffer]);
  const currentHit = hits.length ? hits[Math.min(hitIndex, hits.length - 1)] : undefined;

  // Search after a pause in typing, not on every key.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(typed);
      setHitIndex(0);
    }, 150);
    return () => clearTimeout(t);
  }, [typed]);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Follow the tail: after new lines render, jump to the bottom (unless the user scrolled up).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !follow) return;
    programmatic.current = true;
    el.scrollTop = el.scrollHeight;
    setScrollTop(el.scrollTop);
  }, [version, follow, count]);

  const scrollToLine = (line: number) => {
    const el = scroller.current;
    if (!el) return;
    setFollow(false);
    el.scrollTop = Math.max(0, line * LINE_HEIGHT - el.clientHeight / 2);
    setScrollTop(el.scrollTop);
  };

  useEffect(() => {
    if (currentHit !== undefined) scrollToLine(currentHit);
  }, [currentHit, query]);

  const onScroll = () => {
    const el = scroller.current!;
    setScrollTop(el.scrollTop);
    if (programmatic.current) {
      programmatic.current = false;
      return;
    }
    setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_HEIGHT);
  };

  const step = (delta: number) => {
    if (!hits.length) return;
    setHitIndex((i) => (Math.min(i, hits.length - 1) + delta + hits.length) % hits.length);
  };

  const first = Math.max(0, Math.floor(scrollTop / LINE_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / LINE_HEIGHT) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) rows.push(<Line key={i} buffer={buffer} index={i} highlight={i === currentHit} />);

  const download = () => {
    const url = URL.createObjectURL(new Blob([buffer.plainText()], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'log.txt';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  return (
    <div class='overflow-hidden rounded-lg bg-slate-950 ring-1 ring-slate-800'>
      <div class='flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-2 text-xs text-slate-300'>
        <span class='flex items-center gap-1.5' data-testid='terminal-state'>
          <span class={`size-2 rounded-full ${live ? 'animate-pulse bg-emerald-400' : 'bg-slate-500'}`} aria-hidden='true' />
          {live ? 'Live' : 'Not live'} · <span data-testid='line-count'>{count}</span> lines
        </span>
        <div class='ml-auto flex items-center gap-1'>
          <label class='sr-only' for='log-search'>
            Search the log
          </label>
          <input
            id='log-search'
            type='search'
            placeholder='Search log'
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                step(e.shiftKey ? -1 : 1);
              }
            }}
            class={`w-36 rounded bg-slate-800 px-2 py-1 text-slate-100 placeholder:text-slate-500 sm:w-48 ${focusRing}`}
          />
          <span class='min-w-12 text-center tabular-nums' aria-live='polite' data-testid='search-hits'>
            {query.length >= 2 && query === typed ? (hits.length ? `${Math.min(hitIndex, hits.length - 1) + 1}/${hits.length}` : '0/0') : ''}
          </span>
          <button type='button' class={`rounded px-1.5 py-1 hover:bg-slate-800 ${focusRing}`} onClick={() => step(-1)} aria-label='Previous match'>
            ↑
          </button>
          <button type='button' class={`rounded px-1.5 py-1 hover:bg-slate-800 ${focusRing}`} onClick={() => step(1)} aria-label='Next match'>
            ↓
          </button>
          <button type='button' class={`rounded px-1.5 py-1 hover:bg-slate-800 ${focusRing}`} onClick={download}>
            Download
          </button>
        </div>
      </div>
      <div class='relative'>
        <div
          ref={scroller}
          onScroll={onScroll}
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus so keyboard users can scroll it
          tabIndex={0}
          role='log'
          aria-label='Run log'
          class={`h-[60vh] min-h-64 overflow-auto font-mono text-xs leading-5 text-slate-200 ${focusRing}`}
          data-testid='terminal'
        >
          {count === 0 ? (
            <p class='p-3 text-slate-500'>{emptyText}</p>
          ) : (
            <div style={{ height: `${count * LINE_HEIGHT + 8}px`, position: 'relative' }}>
              <div style={{ transform: `translateY(${first * LINE_HEIGHT}px)` }} class='absolute top-0 left-0 w-max min-w-full pt-1'>
                {rows}
              </div>
            </div>
          )}
        </div>
        {!follow && count > 0 && (
          <Button
            variant='secondary'
            class='absolute right-4 bottom-3 text-xs'
            onClick={() => {
              setFollow(true);
              setHitIndex(0);
            }}
          >
            ↓ Follow tail
          </Button>
        )}
      </div>
    </div>
  );
}
