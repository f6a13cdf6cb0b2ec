// One schedule in the list: name and state, expression, zone, project and options, the next and last
// run times on the schedule's own clock, and Pause/Enable and Delete for members who may edit.
import { Badge, Button } from '../../components/ui';
import type { Schedule } from '../automation/types';
import { inZone } from './zone';

type Props = { s: Schedule; projectName: string; editable: boolean; onToggle: () => void; onRemove: () => void };

export function ScheduleRow({ s, projectName, editable, onToggle, onRemove }: Props) {
  return (
    <li class='flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3'>
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
          <code>{s.cron}</code> · {s.timezone} · {projectName}
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
          <Button variant='secondary' onClick={onToggle}>
            {s.enabled ? 'Pause' : 'Enable'}
          </Button>
          <Button variant='ghost' onClick={onRemove} aria-label={`Delete ${s.name}`}>
            Delete
          </Button>
        </div>
      )}
    </li>
  );
}
