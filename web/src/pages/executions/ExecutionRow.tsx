// One run in the executions list: status, name (or project), source and CI branch and commit,
// environment, tests, duration and age. The whole row opens the run; a status that changes while it
// is on screen flashes briefly.
import { useEffect, useRef, useState } from 'preact/hooks';
import { isFinal } from '../../../../worker/contracts/vocabulary';
import { SourceBadge } from '../../components/SourceBadge';
import { StatusBadge } from '../../components/StatusBadge';
import { ago, duration, testsSummary } from '../../lib/format';
import { Link } from '../../lib/router';
import { rowLink } from '../../lib/row-link';
import type { CiContext, ExecutionSummary, Project } from '../../lib/types';

/** `now`: the clock a running run's duration counts up against. */
type RowProps = { e: ExecutionSummary; project?: Project; selectable: boolean; selected: boolean; onToggle: () => void; now: number };

export function ExecutionRow({ e, project, selectable, selected, onToggle, now }: RowProps) {
  const ci = e.ciContext as CiContext | null;
  const href = `/executions/${encodeURIComponent(e.taskId)}`;
  const projectName = project?.name ?? e.projectId;
  const took = e.durationMs ?? (e.startedAt && !isFinal(e.status) ? now - e.startedAt : null);
  // A status that changes while you look gets a brief highlight.
  const seen = useRef(e.status);
  const [flash, setFlash] = useState(false);
  useEffect(() => {
    if (seen.current === e.status) return;
    seen.current = e.status;
    setFlash(true);
    const t = setTimeout(() => setFlash(false), 1500);
    return () => clearTimeout(t);
  }, [e.status]);
  return (
    <li
      class={`flex cursor-pointer flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2.5 transition-colors duration-700 md:flex-nowrap focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 ${flash ? 'bg-indigo-50 dark:bg-indigo-950/60' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}`}
      data-task-id={e.taskId}
      {...rowLink(href)}
    >
      {selectable && <input type='checkbox' class='size-4' checked={selected} onChange={onToggle} aria-label={`Select run ${e.taskId}`} />}
      <span class='shrink-0 md:w-28'>
        <StatusBadge status={e.status} />
      </span>
      <span class='order-2 min-w-0 basis-full md:order-none md:flex-1 md:basis-48'>
        {/* A run named by its reporter shows that name; the others are known by their project. */}
        <Link href={href} class='font-medium text-slate-900 hover:underline dark:text-slate-100'>
          {e.name ?? projectName}
        </Link>
        {e.name && <span class='ml-2 text-xs text-slate-500'>{projectName}</span>}
        <span class='ml-2 font-mono text-xs text-slate-500'>{e.taskId.slice(-8)}</span>
        <span class='ml-2'>
          <SourceBadge source={e.source} ciContext={ci} />
        </span>
        {ci?.branch && (
          <span class='ml-2 text-xs text-slate-500'>
            {ci.branch}
            {ci.prNumber ? ` · PR #${ci.prNumber}` : ''}
          </span>
        )}
        {ci?.commitSha && (
          <span class='ml-2 font-mono text-xs text-slate-500' title={ci.commitSha}>
            {ci.commitSha.slice(0, 7)}
          </span>
        )}
      </span>
      {/* On phones: status and time on the first line, the run on the second, details on the third. */}
      <span class='order-3 shrink-0 truncate text-sm text-slate-600 md:order-none md:w-24 dark:text-slate-400'>{e.environment ?? '—'}</span>
      <span class='order-3 shrink-0 text-xs text-slate-600 md:order-none md:w-36 dark:text-slate-400'>
        <span class={e.failed ? 'text-red-600 dark:text-red-400' : e.passed ? 'text-emerald-700 dark:text-emerald-400' : ''}>{testsSummary(e)}</span>
      </span>
      <span class='order-3 shrink-0 text-xs text-slate-500 tabular-nums md:order-none md:w-20'>{duration(took)}</span>
      <span class='order-1 ml-auto shrink-0 text-right text-xs text-slate-500 md:order-none md:ml-0 md:w-24' title={new Date(e.createdAt).toLocaleString()}>
        {ago(e.createdAt)}
      </span>
    </li>
  );
}
