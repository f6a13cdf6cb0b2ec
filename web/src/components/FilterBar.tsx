// Filters of the executions list: a search (name, branch or commit), status, source (Agnox hosted /
// External CI), project, environment. Changing one rewrites the URL, so a filtered view can be
// bookmarked and shared.
import { useEffect, useRef, useState } from 'preact/hooks';
import { activeFilterCount, SEARCH_MAX, SOURCE_LABEL, SOURCES, STATUSES, type ExecutionFilters } from '../lib/filters';
import type { Project } from '../lib/types';
import { inputClass } from './ui';

type Props = { filters: ExecutionFilters; projects: Project[]; onChange: (f: ExecutionFilters) => void };

/** How long typing pauses before the search goes to the URL (and the list reloads). */
const SEARCH_PAUSE_MS = 250;

/** Searches as the person types, once they pause; Enter searches at once. */
function SearchBox({ value, onSearch }: { value: string; onSearch: (text: string) => void }) {
  const [text, setText] = useState(value);
  // What this box last put in the URL: only a change from elsewhere (Clear filters, Back) replaces the
  // text, never the echo of its own search arriving while the person types on.
  const sent = useRef(value);
  const latest = useRef(onSearch);
  latest.current = onSearch; // the other filters as they are when the search goes, not as they were at the keystroke
  const search = (t: string) => {
    if (t.trim() === sent.current) return;
    sent.current = t.trim();
    latest.current(sent.current);
  };
  useEffect(() => {
    if (value !== sent.current) {
      sent.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    const timer = setTimeout(() => search(text), SEARCH_PAUSE_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return (
    <label class='col-span-2 sm:w-64'>
      <span class='sr-only'>Search runs</span>
      <input
        type='search'
        aria-label='Search runs'
        placeholder='Name, branch or commit'
        maxLength={SEARCH_MAX}
        class={inputClass}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') search(e.currentTarget.value);
        }}
      />
    </label>
  );
}

export function FilterBar({ filters, projects, onChange }: Props) {
  const set = (key: keyof ExecutionFilters, value: string) => onChange({ ...filters, [key]: value || undefined });
  const select = `${inputClass} pr-8`;
  return (
    <form class='grid grid-cols-2 gap-2 sm:flex sm:flex-wrap sm:items-end' role='search' aria-label='Filter executions' onSubmit={(e) => e.preventDefault()}>
      <SearchBox value={filters.q ?? ''} onSearch={(text) => set('q', text)} />
      <label class='sm:w-40'>
        <span class='sr-only'>Status</span>
        <select aria-label='Status' class={select} value={filters.status ?? ''} onChange={(e) => set('status', e.currentTarget.value)}>
          <option value=''>All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label class='sm:w-40'>
        <span class='sr-only'>Source</span>
        <select aria-label='Source' class={select} value={filters.source ?? ''} onChange={(e) => set('source', e.currentTarget.value)}>
          <option value=''>All sources</option>
          {SOURCES.map((s) => (
            <option key={s} value={s}>
              {SOURCE_LABEL[s]}
            </option>
          ))}
        </select>
      </label>
      <label class='sm:w-48'>
        <span class='sr-only'>Project</span>
        <select aria-label='Project' class={select} value={filters.projectId ?? ''} onChange={(e) => set('projectId', e.currentTarget.value)}>
          <option value=''>All projects</option>
          {projects.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label class='sm:w-40'>
        <span class='sr-only'>Environment</span>
        <input
          aria-label='Environment'
          list='environments'
          placeholder='Any environment'
          class={inputClass}
          value={filters.environment ?? ''}
          onChange={(e) => set('environment', e.currentTarget.value.trim())}
        />
        <datalist id='environments'>
          {['development', 'staging', 'production'].map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </label>
      {activeFilterCount(filters) > 0 && (
        <button
          type='button'
          class='col-span-2 text-left text-sm text-indigo-600 underline sm:col-span-1 sm:self-center dark:text-indigo-400'
          onClick={() => onChange({})}
        >
          Clear filters
        </button>
      )}
    </form>
  );
}
