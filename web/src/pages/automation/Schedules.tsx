// Schedules: CRON runs of a project in a time zone. The form previews the next run times as the
// expression is typed (the server's parser decides, so its message is what the user sees).
import { useEffect, useState } from 'preact/hooks';
import { Badge, Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { dateTime } from '../../lib/format';
import { can } from '../../lib/permissions';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Project } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { ProjectSelect } from './ProjectSelect';
import type { Schedule } from './types';

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A run time as the schedule's own clock shows it (that is what the expression means). */
function inZone(ts: number, timeZone: string) {
  try {
    return new Date(ts).toLocaleString(undefined, { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  } catch {
    return dateTime(ts);
  }
}

/** Next run times for an expression, or the parser's complaint; asks the server after typing pauses. */
function useNextRuns(cron: string, timezone: string) {
  const [state, setState] = useState<{ runs: number[]; error: string | null }>({ runs: [], error: null });
  useEffect(() => {
    if (!cron.trim()) {
      setState({ runs: [], error: null });
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      api<{ nextRuns: number[] }>(`/api/schedules/next-runs?cron=${encodeURIComponent(cron)}&timezone=${encodeURIComponent(timezone)}&count=3`, {
        signal: ctrl.signal,
      })
        .then((r) => setState({ runs: r.nextRuns, error: null }))
        .catch((err) => {
          if (!ctrl.signal.aborted) setState({ runs: [], error: errorMessage(err) });
        });
    }, 300);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [cron, timezone]);
  return state;
}

function NewSchedule({ projects, onCreated, onCancel }: { projects: Project[]; onCreated: () => void; onCancel: () => void }) {
  const [projectId, setProjectId] = useState(projects[0]?.id ?? '');
  const [cron, setCron] = useState('0 2 * * *');
  const [timezone, setTimezone] = useState(browserZone());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const preview = useNextRuns(cron, timezone);

  const submit = async (e: Event) => {
    const v = formValues(e);
    const body: Record<string, unknown> = { name: v.name?.trim(), projectId, cron: cron.trim(), timezone: timezone.trim() };
    for (const k of ['environment', 'folder', 'baseUrl'] as const) if (v[k]?.trim()) body[k] = v[k].trim();
    setBusy(true);
    setError(null);
    try {
      await api('/api/schedules', { method: 'POST', body });
      toast(`Schedule ${String(body.name)} created`);
      onCreated();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title='New schedule'>
      <form onSubmit={submit} class='space-y-4' aria-label='New schedule'>
        {error && <Notice>{error}</Notice>}
        <div class='grid gap-4 sm:grid-cols-2'>
          <Field label='Name'>
            <input name='name' required maxLength={200} class={inputClass} placeholder='Nightly regression' />
          </Field>
          <ProjectSelect projects={projects} value={projectId} onChange={setProjectId} />
          <Field label='CRON expression' hint='minute hour day-of-month month day-of-week, e.g. 0 2 * * 1-5'>
            <input name='cron' required class={`${inputClass} font-mono`} value={cron} onInput={(e) => setCron((e.currentTarget as HTMLInputElement).value)} />
          </Field>
          <Field label='Time zone' hint='IANA name, e.g. Europe/Berlin'>
            <input name='timezone' required class={inputClass} value={timezone} onInput={(e) => setTimezone((e.currentTarget as HTMLInputElement).value)} />
          </Field>
          <Field label='Environment'>
            <input name='environment' class={inputClass} placeholder='staging' />
          </Field>
          <Field label='Test folder'>
            <input name='folder' class={inputClass} placeholder='tests/smoke' />
          </Field>
          <Field label='Base URL' class='sm:col-span-2'>
            <input name='baseUrl' type='url' class={inputClass} placeholder='https://staging.example.com' />
          </Field>
        </div>
        <div data-testid='next-runs-preview' class='text-sm' aria-live='polite'>
          {preview.error ? (
            <span class='text-red-700 dark:text-red-300'>{preview.error}</span>
          ) : preview.runs.length ? (
            <span class='text-slate-600 dark:text-slate-400'>
              Next runs ({timezone}): {preview.runs.map((t) => inZone(t, timezone)).join(' · ')}
            </span>
          ) : null}
        </div>
        <div class='flex gap-2'>
          <Button type='submit' busy={busy}>
            Create schedule
          </Button>
          <Button variant='ghost' onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}

export function SchedulesPage() {
  const { role } = useUser();
  const editable = can(role, 'editProjects');
  const projects = useApi<Project[]>('/api/projects');
  const schedules = useApi<Schedule[]>('/api/schedules');
  const [creating, setCreating] = useState(false);
  const projectName = (id: string) => projects.data?.find((p) => p.id === id)?.name ?? id;

  const toggle = async (s: Schedule) => {
    try {
      await api(`/api/schedules/${encodeURIComponent(s.id)}`, { method: 'PATCH', body: { enabled: !s.enabled } });
      toast(`${s.name} ${s.enabled ? 'paused' : 'enabled'}`);
      await schedules.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };
  const remove = async (s: Schedule) => {
    if (!confirm(`Delete the schedule ${s.name}?`)) return;
    try {
      await api(`/api/schedules/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      toast(`${s.name} deleted`);
      await schedules.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Schedules'
        subtitle="Runs that start on a CRON expression, in the schedule's time zone."
        actions={editable && !creating && projects.data?.length ? <Button onClick={() => setCreating(true)}>New schedule</Button> : null}
      />
      {projects.data && !projects.data.length && <Notice kind='info'>Create a project first; a schedule runs one of your projects.</Notice>}
      {creating && projects.data && (
        <NewSchedule
          projects={projects.data}
          onCancel={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            void schedules.reload();
          }}
        />
      )}
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        {schedules.error && (
          <div class='p-3'>
            <Notice>{schedules.error}</Notice>
          </div>
        )}
        {schedules.loading && !schedules.data ? (
          <Spinner />
        ) : !schedules.data?.length ? (
          <Empty>No schedules yet.</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='schedules'>
            {schedules.data.map((s) => (
              <li key={s.id} class='flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3'>
                <div class='min-w-0 flex-1'>
                  <div class='flex flex-wrap items-center gap-2'>
                    <span class='font-medium'>{s.name}</span>
                    <Badge
                      class={
                        s.enabled
                          ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200'
                          : 'bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-200'
                      }
                    >
                      {s.enabled ? 'enabled' : 'paused'}
                    </Badge>
                  </div>
                  <div class='mt-0.5 text-xs text-slate-500'>
                    <code>{s.cron}</code> · {s.timezone} · {projectName(s.projectId)}
                    {s.environment ? ` · ${s.environment}` : ''}
                    {s.folder ? ` · ${s.folder}` : ''}
                  </div>
                  <div class='mt-0.5 text-xs text-slate-500' data-testid='next-run'>
                    {s.enabled && s.nextRuns.length
                      ? `Next: ${s.nextRuns
                          .slice(0, 3)
                          .map((t) => inZone(t, s.timezone))
                          .join(' · ')}`
                      : 'No upcoming runs'}
                    {s.lastRunAt ? ` · last ${inZone(s.lastRunAt, s.timezone)}` : ''}
                  </div>
                </div>
                {editable && (
                  <div class='flex gap-2'>
                    <Button variant='secondary' onClick={() => toggle(s)}>
                      {s.enabled ? 'Pause' : 'Enable'}
                    </Button>
                    <Button variant='ghost' onClick={() => remove(s)} aria-label={`Delete ${s.name}`}>
                      Delete
                    </Button>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
