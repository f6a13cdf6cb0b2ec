// The new schedule form: name, project, CRON expression and time zone (with a preview of the next run
// times as the expression is typed), and optional environment, test folder and base URL.
import { useState } from 'preact/hooks';
import { Button, Card, Field, inputClass, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { toast } from '../../lib/toast';
import type { Project } from '../../lib/types';
import { useNextRuns } from '../../lib/use-next-runs';
import { ProjectSelect } from '../automation/ProjectSelect';
import { browserZone, inZone } from './zone';

export function NewSchedule({ projects, onCreated, onCancel }: { projects: Project[]; onCreated: () => void; onCancel: () => void }) {
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
