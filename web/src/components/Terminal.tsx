// The live log view. Only the lines in (or near) the viewport are in the DOM, so 100k+ lines scroll
// smoothly; each line is rendered from its own text and start style (LogBuffer keeps both). It
// follows the tail until the user scrolls up, and has search with next/previous.
import { useEffect } from 'preact/hooks';
import type { LogBuffer } from '../lib/log-buffer';
import { useLogSearch } from '../lib/use-log-search';
import { LINE_HEIGHT, useLogViewport } from '../lib/use-log-viewport';
import { TerminalLine } from './terminal/TerminalLine';
import { TerminalToolbar } from './terminal/TerminalToolbar';
import { Button, focusRing } from './ui';

type Props = { buffer: LogBuffer; version: number; live: boolean; emptyText?: string };

export function Terminal({ buffer, version, live, emptyText = 'Waiting for output…' }: Props) {
  const count = buffer.lineCount;
  const search = useLogSearch(buffer, version);
  const { scroller, first, last, follow, setFollow, scrollToLine, onScroll } = useLogViewport(count, version);
  const { currentHit, query } = search;

  useEffect(() => {
    if (currentHit !== undefined) scrollToLine(currentHit);
  }, [currentHit, query]);

  const rows = [];
  for (let i = first; i < last; i++) rows.push(<TerminalLine key={i} buffer={buffer} index={i} highlight={i === currentHit} />);

  return (
    <div class='overflow-hidden rounded-lg bg-slate-950 ring-1 ring-slate-800'>
      <TerminalToolbar buffer={buffer} live={live} search={search} />
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
              search.setHitIndex(0);
            }}
          >
            ↓ Follow tail
          </Button>
        )}
      </div>
    </div>
  );
}
