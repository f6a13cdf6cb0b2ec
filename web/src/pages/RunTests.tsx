// Queue a run: a project, an environment, and optionally a command, specific tests and agent labels.
import { useState } from 'preact/hooks';
import { Button, Card, Field, inputClass, Notice, PageHeader } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { parseKeyValues } from '../lib/kv';
import { can } from '../lib/permissions';
import { Link, navigate, useLocation } from '../lib/router';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Project, RunSettings } from '../lib/types';
import { useApi } from '../lib/use-api';

export function RunTestsPage() {
  const { role } = useUser();
  const { search } = useLocation();
  const projects = useApi<Project[]>('/api/projects');
  // What the person chose, per field. A field they have not touched shows its default (the URL's or
  // the first project; the project's default environment), derived on every render rather than
  // copied in when the projects arrive: that copy overwrote what had been typed meanwhile. Focusing the
  // environment field counts as touching it: a default arriving between the person selecting its text
  // and typing would otherwise move the caret and their text would be appended to it ("stagingqa").
  const [edited, setEdited] = useState<{ projectId?: string; environment?: string }>({});
  const edit = (field: keyof typeof edited, value: string) => setEdited((was) => ({ ...was, [field]: value }));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const projectId = edited.projectId ?? new URLSearchParams(search).get('projectId') ?? projects.data?.[0]?.id ?? '';
  const project = projects.data?.find((p) => p.id === projectId);
  const environment = edited.environment ?? project?.defaultEnvironment ?? '';
  const settings = useApi<RunSettings[]>(project ? `/api/projects/${project.id}/run-settings` : null);

  if (!can(role, 'runTests')) return <Notice>Your role cannot start runs. Ask an admin for developer access.</Notice>;
  if (projects.data && !projects.data.length) {
    return (
      <Notice kind='info'>
        Create a project first:{' '}
        <Link href='/projects' class='underline'>
          Projects
        </Link>
        .
      </Notice>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const command = String(form.get('command') ?? '').trim();
    const tests = String(form.get('tests') ?? '')
      .split('\n')
      .map((t) => t.trim())
      .filter(Boolean);
    const labels = parseKeyValues(String(form.get('labels') ?? ''));
    if (labels.errors.length) {
      setError(`Labels: ${labels.errors.join('; ')}`);
      return;
    }
    const body: Record<string, unknown> = { projectId, environment: environment.trim() || undefined };
    if (command) body.command = command;
    if (tests.length) body.tests = tests;
    if (Object.keys(labels.map).length) body.labels = labels.map;
    if (form.get('queue') === 'hosted') body.queue = 'hosted';
    setBusy(true);
    setError(null);
    try {
      const { taskId } = await api<{ taskId: string }>('/api/execution-request', { method: 'POST', body });
      toast('Run queued');
      navigate(`/executions/${encodeURIComponent(taskId)}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const environments = [...new Set([...(settings.data ?? []).map((s) => s.environment), project?.defaultEnvironment].filter(Boolean) as string[])];

  return (
    <div class='max-w-2xl'>
      <PageHeader title='Run tests' subtitle='Queue a run for your agents.' />
      <Card>
        <form onSubmit={submit} class='space-y-4'>
          {error && <Notice>{error}</Notice>}
          {projects.error && <Notice>{projects.error}</Notice>}
          <Field label='Project'>
            {/* The rest of the form can be filled while the projects load. */}
            <select
              name='projectId'
              class={inputClass}
              value={projectId}
              onChange={(e) => edit('projectId', e.currentTarget.value)}
              disabled={!projects.data}
              required
            >
              {projects.data ? (
                projects.data.map((p) => (
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
          <Field label='Environment' hint='Run settings of this environment (base URL, variables) are passed to the run.'>
            <input
              name='environment'
              list='run-envs'
              class={inputClass}
              value={environment}
              onFocus={() => edited.environment === undefined && edit('environment', environment)}
              onInput={(e) => edit('environment', e.currentTarget.value)}
            />
            <datalist id='run-envs'>
              {environments.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </Field>
          <Field label='Command (optional)' hint="Overrides the project's command for this run.">
            <input name='command' maxLength={2000} class={inputClass} placeholder={project?.command ?? 'npx playwright test'} />
          </Field>
          <Field label='Tests (optional)' hint='One test file or name per line; empty runs everything.'>
            <textarea name='tests' rows={3} class={inputClass} placeholder='tests/login.spec.ts' />
          </Field>
          <Field label='Agent labels (optional)' hint='KEY=value per line; only agents with these labels take the run (e.g. arch=arm64).'>
            <textarea name='labels' rows={2} class={inputClass} placeholder='arch=arm64' />
          </Field>
          <fieldset>
            <legend class='mb-1 text-sm font-medium text-slate-700 dark:text-slate-300'>Where to run</legend>
            <label class='mr-4 text-sm'>
              <input type='radio' name='queue' value='org' defaultChecked class='mr-1' />
              Our agents
            </label>
            <label class='text-sm'>
              <input type='radio' name='queue' value='hosted' class='mr-1' />
              Agnox hosted fleet
            </label>
          </fieldset>
          <Button type='submit' busy={busy} disabled={!project}>
            Queue run
          </Button>
        </form>
      </Card>
    </div>
  );
}
