// One project: edit its definition and its run settings per environment.
import { useState } from 'preact/hooks';
import { RunSettingsEditor } from '../components/RunSettingsEditor';
import { Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { formValues } from '../lib/form';
import { can } from '../lib/permissions';
import { Link, navigate } from '../lib/router';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Project, RunSettings } from '../lib/types';
import { useApi } from '../lib/use-api';
import { projectBody, ProjectFields } from './Projects';

export function ProjectPage({ id }: { id: string }) {
  const { role } = useUser();
  const base = `/api/projects/${encodeURIComponent(id)}`;
  const project = useApi<Project>(base);
  const settings = useApi<RunSettings[]>(`${base}/run-settings`);
  const [draftEnvs, setDraftEnvs] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editable = can(role, 'editProjects');

  if (project.error) return <Notice>{project.error}</Notice>;
  const p = project.data;
  if (!p) return <Spinner />;

  const save = async (e: Event) => {
    const body = projectBody(formValues(e));
    setBusy(true);
    setError(null);
    try {
      project.setData(await api<Project>(base, { method: 'PATCH', body }));
      toast('Project saved');
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  const remove = async () => {
    if (!confirm(`Delete project ${p.name}? Its run history stays.`)) return;
    try {
      await api(base, { method: 'DELETE' });
      toast('Project deleted');
      navigate('/projects');
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  const addEnv = (e: Event) => {
    const { environment } = formValues(e);
    const name = environment?.trim();
    if (!name) return;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      toast('Environment names use letters, digits, ".", "_" and "-"', 'error');
      return;
    }
    if (settings.data?.some((s) => s.environment === name) || draftEnvs.includes(name)) return;
    setDraftEnvs([...draftEnvs, name]);
    (e.currentTarget as HTMLFormElement).reset();
  };

  const all: Array<{ s: RunSettings; isNew: boolean }> = [
    ...(settings.data ?? []).map((s) => ({ s, isNew: false })),
    ...draftEnvs.map((environment) => ({ s: { environment, baseUrl: null, variables: {}, secretVariables: {}, updatedAt: 0 }, isNew: true })),
  ];

  return (
    <div class='space-y-4'>
      <PageHeader
        title={p.name}
        subtitle={
          <Link href='/projects' class='underline'>
            All projects
          </Link>
        }
        actions={
          <>
            {can(role, 'runTests') && (
              <Link
                href={`/run?projectId=${encodeURIComponent(p.id)}`}
                class='rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500'
              >
                Run tests
              </Link>
            )}
            {editable && (
              <Button variant='danger' onClick={remove}>
                Delete project
              </Button>
            )}
          </>
        }
      />
      <Card title='Definition'>
        {editable ? (
          <form onSubmit={save} class='space-y-4'>
            {error && <Notice>{error}</Notice>}
            <ProjectFields project={p} key={p.updatedAt} />
            <Button type='submit' busy={busy}>
              Save project
            </Button>
          </form>
        ) : (
          <dl class='grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm'>
            <dt class='text-slate-500'>Image</dt>
            <dd>
              <code>{p.image}</code>
            </dd>
            <dt class='text-slate-500'>Command</dt>
            <dd>
              <code>{p.command ?? '—'}</code>
            </dd>
            <dt class='text-slate-500'>Test folder</dt>
            <dd>{p.testFolder ?? '—'}</dd>
            <dt class='text-slate-500'>Timeout</dt>
            <dd>{Math.round(p.timeoutSeconds / 60)} min</dd>
          </dl>
        )}
      </Card>

      <div class='flex flex-wrap items-end justify-between gap-2'>
        <h2 class='text-lg font-semibold'>Run settings</h2>
        {editable && (
          <form onSubmit={addEnv} class='flex gap-2'>
            <Field label='Add environment' class='[&>span]:sr-only'>
              <input name='environment' placeholder='production' class={inputClass} />
            </Field>
            <Button type='submit' variant='secondary'>
              Add
            </Button>
          </form>
        )}
      </div>
      {settings.error && <Notice>{settings.error}</Notice>}
      {!all.length && !settings.loading && (
        <Card>
          <Empty>No environments yet{editable ? ': add one to give runs a base URL and variables.' : '.'}</Empty>
        </Card>
      )}
      <div class='grid gap-4 lg:grid-cols-2'>
        {all.map(({ s, isNew }) => (
          <RunSettingsEditor
            key={`${s.environment}-${s.updatedAt}`}
            projectId={p.id}
            settings={s}
            editable={editable}
            isNew={isNew}
            onSaved={(saved) => {
              setDraftEnvs((d) => d.filter((x) => x !== saved.environment));
              settings.setData((cur) => [...(cur ?? []).filter((x) => x.environment !== saved.environment), saved]);
            }}
            onDeleted={() => {
              setDraftEnvs((d) => d.filter((x) => x !== s.environment));
              settings.setData((cur) => (cur ?? []).filter((x) => x.environment !== s.environment));
            }}
          />
        ))}
      </div>
    </div>
  );
}
