// The test case list's filters: the project (kept in the URL), a text search, and a suite and a tag
// picked from the project's facets.
import { Field, inputClass } from '../../components/ui';
import { navigate } from '../../lib/router';
import type { Project } from '../../lib/types';
import { ProjectSelect } from '../automation/ProjectSelect';

export type CaseFilterValues = { q: string; suite: string; tag: string };
export type CaseFacets = { suites: string[]; tags: string[] };

type Props = { projects: Project[]; projectId: string; filters: CaseFilterValues; onChange: (next: CaseFilterValues) => void; facets: CaseFacets | undefined };

export function CaseFilters({ projects, projectId, filters, onChange, facets }: Props) {
  return (
    <div class='grid gap-3 sm:grid-cols-4'>
      <ProjectSelect projects={projects} value={projectId} onChange={(id) => navigate(`/test-cases?projectId=${encodeURIComponent(id)}`)} />
      <Field label='Search'>
        <input
          type='search'
          class={inputClass}
          value={filters.q}
          placeholder='Title or description'
          onInput={(e) => onChange({ ...filters, q: (e.currentTarget as HTMLInputElement).value })}
        />
      </Field>
      <Field label='Suite'>
        <select class={inputClass} value={filters.suite} onChange={(e) => onChange({ ...filters, suite: (e.currentTarget as HTMLSelectElement).value })}>
          <option value=''>All suites</option>
          {facets?.suites.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </Field>
      <Field label='Tag'>
        <select class={inputClass} value={filters.tag} onChange={(e) => onChange({ ...filters, tag: (e.currentTarget as HTMLSelectElement).value })}>
          <option value=''>All tags</option>
          {facets?.tags.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </Field>
    </div>
  );
}
