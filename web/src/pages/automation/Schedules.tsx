// Schedules: CRON runs of a project in a time zone. The form previews the next run times as the
// expression is typed (the server's parser decides, so its message is what the user sees).
import { useState } from 'preact/hooks';
import { Button, Empty, Notice, PageHeader, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { can } from '../../lib/permissions';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Project } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { NewSchedule } from '../schedules/NewSchedule';
import { ScheduleRow } from '../schedules/ScheduleRow';
import type { Schedule } from './types';

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
              <ScheduleRow key={s.id} s={s} projectName={projectName(s.projectId)} editable={editable} onToggle={() => toggle(s)} onRemove={() => remove(s)} />
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
