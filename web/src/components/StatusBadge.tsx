// An execution's status as a coloured pill; running states pulse so live changes catch the eye.
import type { RunStatus } from '../lib/types';
import { Badge } from './ui';

const STYLE: Record<RunStatus, string> = {
  PENDING: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  RUNNING: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
  ANALYZING: 'bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-200',
  PASSED: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200',
  FAILED: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
  ERROR: 'bg-orange-100 text-orange-800 dark:bg-orange-900 dark:text-orange-200',
  CANCELLED: 'bg-slate-200 text-slate-700 dark:bg-slate-700 dark:text-slate-200',
  TIMED_OUT: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
};

export function StatusBadge({ status }: { status: RunStatus }) {
  const live = status === 'RUNNING' || status === 'ANALYZING';
  return (
    <Badge class={STYLE[status] ?? STYLE.PENDING}>
      {live && <span class='size-1.5 animate-pulse rounded-full bg-current' aria-hidden='true' />}
      <span data-status={status}>{status.replace('_', ' ')}</span>
    </Badge>
  );
}
