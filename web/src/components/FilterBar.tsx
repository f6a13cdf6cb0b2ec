// Filters of the executions list: status, source (Agnox hosted / External CI), project, environment.
// Changing one rewrites the URL, so a filtered view can be bookmarked and shared.
import { activeFilterCount, SOURCE_LABEL, SOURCES, STATUSES, type ExecutionFilters } from '../lib/filters';
import type { Project } from '../lib/types';
import { inputClass } from './ui';

type Props = { filters: ExecutionFilters; projects: Project[]; onChange: (f: ExecutionFilters) => void };

export function FilterBar({ filters, projects, onChange }: Props) {
  const set = (key: keyof ExecutionFilters, value: string) => onChange({ ...filters, [key]: value || undefined });
  const select = `${inputClass} pr-8`;
  return (
    <form class="grid grid-cols-2 gap-2 sm:flex sm:flex-wrap sm:items-end" role="search" aria-label="Filter executions" onSubmit={(e) => e.preventDefault()}>
      <label class="sm:w-40">
        <span class="sr-only">Status</span>
        <select aria-label="Status" class={select} value={filters.status ?? ''} onChange={(e) => set('status', e.currentTarget.value)}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => <option key={s} value={s}>{s.replace('_', ' ')}</option>)}
        </select>
      </label>
      <label class="sm:w-40">
        <span class="sr-only">Source</span>
        <select aria-label="Source" class={select} value={filters.source ?? ''} onChange={(e) => set('source', e.currentTarget.value)}>
          <option value="">All sources</option>
          {SOURCES.map((s) => <option key={s} value={s}>{SOURCE_LABEL[s]}</option>)}
        </select>
      </label>
      <label class="sm:w-48">
        <span class="sr-only">Project</span>
        <select aria-label="Project" class={select} value={filters.projectId ?? ''} onChange={(e) => set('projectId', e.currentTarget.value)}>
          <option value="">All projects</option>
          {projects.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
        </select>
      </label>
      <label class="sm:w-40">
        <span class="sr-only">Environment</span>
        <input aria-label="Environment" list="environments" placeholder="Any environment" class={inputClass} value={filters.environment ?? ''}
          onChange={(e) => set('environment', e.currentTarget.value.trim())} />
        <datalist id="environments">{['development', 'staging', 'production'].map((n) => <option key={n} value={n} />)}</datalist>
      </label>
      {activeFilterCount(filters) > 0 && (
        <button type="button" class="col-span-2 text-left text-sm text-indigo-600 underline sm:col-span-1 sm:self-center dark:text-indigo-400" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}
