// One agent in the list: online state, platform and version, labels, jobs and last contact, and for
// admins Disable/Enable and Remove.
import { Badge, Button } from '../../components/ui';
import { ago } from '../../lib/format';
import type { Agent } from '../../lib/types';

type Props = { a: Agent; admin: boolean; onSetDisabled: (disabled: boolean) => void; onRemove: () => void };

export function AgentRow({ a, admin, onSetDisabled, onRemove }: Props) {
  return (
    <li class='flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3'>
      <span class='flex w-40 items-center gap-2 font-medium'>
        <span class={`size-2.5 rounded-full ${a.disabled ? 'bg-slate-400' : a.online ? 'bg-emerald-500' : 'bg-red-500'}`} aria-hidden='true' />
        <span class='truncate'>{a.name}</span>
      </span>
      <span class='w-20 text-sm'>{a.disabled ? 'disabled' : a.online ? 'online' : 'offline'}</span>
      <span class='w-28 text-xs text-slate-500'>
        {[a.arch, a.os].filter(Boolean).join(' / ') || '—'}
        {a.version ? ` · v${a.version}` : ''}
      </span>
      <span class='flex min-w-0 flex-1 flex-wrap gap-1'>
        {Object.entries(a.labels ?? {}).map(([k, v]) => (
          <Badge key={k} class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>
            {k}={v}
          </Badge>
        ))}
      </span>
      <span class='text-xs text-slate-500'>
        {a.runningJobs}/{a.concurrency} jobs · seen {ago(a.lastSeenAt)}
      </span>
      {admin && (
        <span class='flex gap-2'>
          <Button variant='secondary' onClick={() => onSetDisabled(!a.disabled)}>
            {a.disabled ? 'Enable' : 'Disable'}
          </Button>
          <Button variant='ghost' onClick={onRemove}>
            Remove
          </Button>
        </span>
      )}
    </li>
  );
}
