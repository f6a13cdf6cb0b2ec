// The run form's project picker, and under it what the chosen project runs (image, command, timeout).
import { Field, inputClass } from '../../components/ui';
import type { Project } from '../../lib/types';

/** `projects` is undefined while they load; `project` is the chosen one, described under the picker. */
export function ProjectField({
  projects,
  value,
  project,
  onChange,
}: {
  projects: Project[] | undefined;
  value: string;
  project: Project | undefined;
  onChange: (id: string) => void;
}) {
  return (
    <>
      <Field label='Project'>
        {/* The rest of the form can be filled while the projects load. */}
        <select name='projectId' class={inputClass} value={value} onChange={(e) => onChange(e.currentTarget.value)} disabled={!projects} required>
          {projects ? (
            projects.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))
          ) : (
            <option value=''>Loading projects…</option>
          )}
        </select>
      </Field>
      {project && (
        <p class='text-xs text-slate-500'>
          Image <code>{project.image}</code>
          {project.command ? (
            <>
              {' '}
              · runs <code>{project.command}</code>
            </>
          ) : null}{' '}
          · timeout {Math.round(project.timeoutSeconds / 60)} min
        </p>
      )}
    </>
  );
}
