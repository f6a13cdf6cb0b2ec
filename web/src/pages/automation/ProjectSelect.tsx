// The project picker the automation pages share; remembers the last choice in the URL (?projectId=).
import { inputClass } from '../../components/ui';
import type { Project } from '../../lib/types';

export function ProjectSelect({
  projects,
  value,
  onChange,
  label = 'Project',
  name = 'projectId',
  allowAll = false,
}: {
  projects: Project[];
  value: string;
  onChange: (id: string) => void;
  label?: string;
  name?: string;
  allowAll?: boolean;
}) {
  return (
    <label class='block'>
      <span class='mb-1 block text-sm font-medium text-slate-700 dark:text-slate-300'>{label}</span>
      <select name={name} class={inputClass} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {allowAll && <option value=''>All projects</option>}
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}
