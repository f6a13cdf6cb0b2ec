// Projects: what to run (Docker image, command, test folder, timeout). Developers and admins create.
import { useState } from 'preact/hooks';
import { Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { formValues } from '../lib/form';
import { ago } from '../lib/format';
import { can } from '../lib/permissions';
import { Link, navigate, useLocation } from '../lib/router';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';

/** Project fields from a form, typed as the API wants them (empty optional fields left out). */
export function projectBody(v: Record<string, string>) {
  const body: Record<string, unknown> = { name: v.name?.trim(), image: v.image?.trim() };
  if (v.command?.trim()) body.command = v.command.trim();
  if (v.testFolder?.trim()) body.testFolder = v.testFolder.trim();
  if (v.timeoutMinutes) body.timeoutSeconds = Math.round(Number(v.timeoutMinutes) * 60);
  if (v.defaultEnvironment?.trim()) body.defaultEnvironment = v.defaultEnvironment.trim();
  return body;
}

export function ProjectFields({ project }: { project?: Project }) {
  return (
    <div class='grid gap-4 sm:grid-cols-2'>
      <Field label='Name'>
        <input name='name' required maxLength={100} class={inputClass} defaultValue={project?.name} />
      </Field>
      <Field label='Docker image' hint='e.g. mcr.microsoft.com/playwright:v1.50.0'>
        <input name='image' required class={inputClass} defaultValue={project?.image} />
      </Field>
      <Field label='Command' hint='What runs inside the container.'>
        <input name='command' class={inputClass} defaultValue={project?.command ?? ''} placeholder='npx playwright test' />
      </Field>
      <Field label='Test folder'>
        <input name='testFolder' class={inputClass} defaultValue={project?.testFolder ?? ''} placeholder='tests' />
      </Field>
      <Field label='Timeout (minutes)'>
        <input
          name='timeoutMinutes'
          type='number'
          min={1}
          max={1440}
          required
          class={inputClass}
          defaultValue={project ? Math.round(project.timeoutSeconds / 60) : 60}
        />
      </Field>
      <Field label='Default environment'>
        <input name='defaultEnvironment' class={inputClass} defaultValue={project?.defaultEnvironment ?? 'staging'} />
      </Field>
    </div>
  );
}

export function ProjectsPage() {
  const { role } = useUser();
  const { search } = useLocation();
  const projects = useApi<Project[]>('/api/projects');
  const [creating, setCreating] = useState(new URLSearchParams(search).get('welcome') === '1');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editable = can(role, 'editProjects');

  const create = async (e: Event) => {
    const body = projectBody(formValues(e));
    setBusy(true);
    setError(null);
    try {
      const p = await api<Project>('/api/projects', { method: 'POST', body });
      toast(`Project ${p.name} created`);
      navigate(`/projects/${encodeURIComponent(p.id)}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <div class='space-y-4'>
      <PageHeader title='Projects' actions={editable && !creating && <Button onClick={() => setCreating(true)}>New project</Button>} />
      {creating && editable && (
        <Card title='New project'>
          <form onSubmit={create} class='space-y-4'>
            {error && <Notice>{error}</Notice>}
            <ProjectFields />
            <div class='flex gap-2'>
              <Button type='submit' busy={busy}>
                Create project
              </Button>
              <Button variant='ghost' onClick={() => setCreating(false)}>
                Cancel
              </Button>
            </div>
          </form>
        </Card>
      )}
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        {projects.error && (
          <div class='p-3'>
            <Notice>{projects.error}</Notice>
          </div>
        )}
        {projects.loading && !projects.data ? (
          <Spinner />
        ) : !projects.data?.length ? (
          <Empty>No projects yet.</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='projects'>
            {projects.data.map((p) => (
              <li key={p.id} class='flex flex-wrap items-center gap-x-4 gap-y-1 px-4 py-3'>
                <Link href={`/projects/${encodeURIComponent(p.id)}`} class='font-medium hover:underline'>
                  {p.name}
                </Link>
                <code class='min-w-0 flex-1 truncate text-xs text-slate-500'>{p.image}</code>
                <span class='text-xs text-slate-500'>updated {ago(p.updatedAt)}</span>
                <Link href={`/executions?projectId=${encodeURIComponent(p.id)}`} class='text-sm text-indigo-600 underline dark:text-indigo-400'>
                  Runs
                </Link>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
