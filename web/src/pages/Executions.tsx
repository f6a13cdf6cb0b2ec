// The executions list: newest first, filtered and searched through the URL, paged by cursor with
// infinite scroll, updated live from the org's hub (new runs appear, badges change), with bulk cancel
// and delete. A whole row opens its run.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { isFinal } from '../../../worker/contracts/vocabulary';
import { FilterBar } from '../components/FilterBar';
import { Button, Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { filtersFromSearch, filtersToSearch, type ExecutionFilters } from '../lib/filters';
import { can } from '../lib/permissions';
import { Link, navigate, useLocation } from '../lib/router';
import { useUser } from '../lib/session';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';
import { useExecutionList } from '../lib/use-execution-list';
import { useNow } from '../lib/use-now';
import { BulkActionsBar } from './executions/BulkActionsBar';
import { ExecutionRow } from './executions/ExecutionRow';
import { LiveDot } from './executions/LiveDot';

export function ExecutionsPage() {
  const { role } = useUser();
  const { search } = useLocation();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const { state, dispatch, loading, error, load, connection } = useExecutionList(filters);
  const projects = useApi<Project[]>('/api/projects');
  const sentinel = useRef<HTMLDivElement>(null);

  // Infinite scroll: load the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !state.nextCursor || loading) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((x) => x.isIntersecting)) void load(state.nextCursor);
      },
      { rootMargin: '400px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [state.nextCursor, loading, load]);

  const setFilters = (f: ExecutionFilters) => navigate(`/executions${filtersToSearch(f)}`, { replace: true });
  const projectById = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p])), [projects.data]);
  const selectable = can(role, 'cancelRuns') || can(role, 'deleteRuns');
  const now = useNow(state.items.some((x) => x.startedAt !== null && !isFinal(x.status)));

  return (
    <div>
      <PageHeader
        title='Executions'
        subtitle={<LiveDot state={connection} />}
        actions={
          can(role, 'runTests') && (
            <Link href='/run' class='rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500'>
              Run tests
            </Link>
          )
        }
      />
      <FilterBar filters={filters} projects={projects.data ?? []} onChange={setFilters} />

      {selectable && state.selected.size > 0 && <BulkActionsBar selected={state.selected} dispatch={dispatch} />}

      <div class='mt-3 overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        <div class='hidden items-center gap-x-3 border-b border-slate-200 bg-slate-50 px-3 py-2 text-xs font-medium text-slate-500 md:flex dark:border-slate-800 dark:bg-slate-900/60'>
          {selectable && (
            <input
              type='checkbox'
              class='size-4'
              aria-label='Select all loaded runs'
              checked={state.items.length > 0 && state.selected.size === state.items.length}
              onChange={(e) => dispatch({ type: 'select-all', on: e.currentTarget.checked })}
            />
          )}
          <span class='w-28'>Status</span>
          <span class='flex-1'>Run</span>
          <span class='w-24'>Environment</span>
          <span class='w-36'>Tests</span>
          <span class='w-20'>Duration</span>
          <span class='w-24 text-right'>Queued</span>
        </div>
        {error && (
          <div class='p-3'>
            <Notice>
              {error}{' '}
              <button type='button' class='underline' onClick={() => load(null)}>
                Retry
              </button>
            </Notice>
          </div>
        )}
        {!state.items.length && !loading && !error && (
          <Empty>{Object.keys(filters).length ? 'No runs match these filters.' : 'No runs yet. Queue one from Run tests, or report one from your CI.'}</Empty>
        )}
        <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='executions'>
          {state.items.map((e) => (
            <ExecutionRow
              key={e.taskId}
              e={e}
              project={projectById.get(e.projectId)}
              selectable={selectable}
              selected={state.selected.has(e.taskId)}
              onToggle={() => dispatch({ type: 'toggle', taskId: e.taskId })}
              now={now}
            />
          ))}
        </ul>
        {loading && <Spinner />}
        <div ref={sentinel} />
        {state.nextCursor && !loading && (
          <div class='border-t border-slate-200 p-2 text-center dark:border-slate-800'>
            <Button variant='ghost' onClick={() => load(state.nextCursor)}>
              Load more
            </Button>
          </div>
        )}
      </div>
    </div>
  );
}
