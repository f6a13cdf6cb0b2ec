// The bar above the log: live state and line count, search with a hit counter and next/previous, and
// a download of the whole log as plain text.
import type { LogBuffer } from '../../lib/log-buffer';
import type { LogSearch } from '../../lib/use-log-search';
import { focusRing } from '../ui';

function download(buffer: LogBuffer) {
  const url = URL.createObjectURL(new Blob([buffer.plainText()], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'log.txt';
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function TerminalToolbar({ buffer, live, search }: { buffer: LogBuffer; live: boolean; search: LogSearch }) {
  const { typed, setTyped, query, hits, hitIndex, step } = search;
  return (
    <div class='flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-2 text-xs text-slate-300'>
      <span class='flex items-center gap-1.5' data-testid='terminal-state'>
        <span class={`size-2 rounded-full ${live ? 'animate-pulse bg-emerald-400' : 'bg-slate-500'}`} aria-hidden='true' />
        {live ? 'Live' : 'Not live'} · <span data-testid='line-count'>{buffer.lineCount}</span> lines
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
        <button type='button' class={`rounded px-1.5 py-1 hover:bg-slate-800 ${focusRing}`} onClick={() => download(buffer)}>
          Download
        </button>
      </div>
    </div>
  );
}
