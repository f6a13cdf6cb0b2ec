// The executions list: newest first, filtered and searched through the URL, paged by cursor with
// infinite scroll, updated live from the org's hub (new runs appear, badges change), with bulk cancel
// and delete. A whole row opens its run.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { FilterBar } from '../components/FilterBar';
import { SourceBadge } from '../components/SourceBadge';
import { StatusBadge } from '../components/StatusBadge';
import { isFinal } from '../../../worker/contracts/vocabulary';
import { Button, Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { filtersFromSearch, filtersToSearch, type ExecutionFilters } from '../lib/filters';
import { ago, duration, testsSummary } from '../lib/format';
import { initialList, listReducer } from '../lib/live-list';
import { openLive, type LiveState } from '../lib/live-socket';
import { can } from '../lib/permissions';
import { Link, navigate, useLocation } from '../lib/router';
import { rowLink } from '../lib/row-link';
import { useUser } from '../lib/session';
import { useNow } from '../lib/use-now';
import { toast } from '../lib/toast';
import type { CiContext, ExecutionSummary, HubMessage, Project } from '../lib/types';
import { useApi } from '../lib/use-api';

const PAGE_SIZE = 50;

function LiveDot({ state }: { state: LiveState }) {
  const label = state === 'open' ? 'Live' : state === 'closed' ? 'Offline' : 'Connecting…';
  return (
    <span class="inline-flex items-center gap-1.5 text-xs text-slate-500 dark:text-slate-400" role="status" data-testid="live-state">
      <span class={`size-2 rounded-full ${state === 'open' ? 'bg-emerald-500' : 'bg-amber-500'}`} aria-hidden="true" />{label}
    </span>
  );
}

type RowProps = { e: ExecutionSummary; project?: Project; selectable: boolean; selected: boolean; onToggle: () => void; now: number };

function Row({ e, project, selectable, selected, onToggle, now }: RowProps) {
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
    <li class={`flex cursor-pointer flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2.5 transition-colors duration-700 md:flex-nowrap focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 ${flash ? 'bg-indigo-50 dark:bg-indigo-950/60' : 'hover:bg-slate-50 dark:hover:bg-slate-800/50'}`}
      data-task-id={e.taskId} {...rowLink(href)}>
      {selectable && (
        <input type="checkbox" class="size-4" checked={selected} onChange={onToggle} aria-label={`Select run ${e.taskId}`} />
      )}
      <span class="shrink-0 md:w-28"><StatusBadge status={e.status} /></span>
      <span class="order-2 min-w-0 basis-full md:order-none md:flex-1 md:basis-48">
        {/* A run named by its reporter shows that name; the others are known by their project. */}
        <Link href={href} class="font-medium text-slate-900 hover:underline dark:text-slate-100">{e.name ?? projectName}</Link>
        {e.name && <span class="ml-2 text-xs text-slate-500">{projectName}</span>}
        <span class="ml-2 font-mono text-xs text-slate-500">{e.taskId.slice(-8)}</span>
        <span class="ml-2"><SourceBadge source={e.source} ciContext={ci} /></span>
        {ci?.branch && <span class="ml-2 text-xs text-slate-500">{ci.branch}{ci.prNumber ? ` · PR #${ci.prNumber}` : ''}</span>}
        {ci?.commitSha && <span class="ml-2 font-mono text-xs text-slate-500" title={ci.commitSha}>{ci.commitSha.slice(0, 7)}</span>}
      </span>
      {/* On phones: status and time on the first line, the run on the second, details on the third. */}
      <span class="order-3 shrink-0 truncate text-sm text-slate-600 md:order-none md:w-24 dark:text-slate-400">{e.environment ?? '—'}</span>
      <span class="order-3 shrink-0 text-xs text-slate-600 md:order-none md:w-36 dark:text-slate-400">
        <span class={e.failed ? 'text-red-600 dark:text-red-400' : e.passed ? 'text-emerald-700 dark:text-emerald-400' : ''}>{testsSummary(e)}</span>
      </span>
      <span class="order-3 shrink-0 text-xs text-slate-500 tabular-nums md:order-none md:w-20">{duration(took)}</span>
      <span class="order-1 ml-auto shrink-0 text-right text-xs text-slate-500 md:order-none md:ml-0 md:w-24" title={new Date(e.createdAt).toLocaleString()}>{ago(e.createdAt)}</span>
    </li>
  );
}

export function ExecutionsPage() {
  const { role } = useUser();
  const { search } = useLocation();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const filterKey = filtersToSearch(filters);
  const [state, dispatch] = useReducer(listReducer, filters, initialList);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveState>('connecting');
  const [bulkBusy, setBulkBusy] = useState(false);
  const projects = useApi<Project[]>('/api/projects');
  const generation = useRef(0);
  const sentinel = useRef<HTMLDivElement>(null);

  const load = useCallback(async (cursor: string | null) => {
    const mine = cursor === null ? ++generation.current : generation.current;
    setLoading(true);
    try {
      const page = await api<{ items: ExecutionSummary[]; nextCursor: string | null }>(
        `/api/executions${filtersToSearch(filters, { limit: PAGE_SIZE, cursor: cursor ?? undefined })}`);
      if (mine !== generation.current) return;
      dispatch({ type: 'page', items: page.items, nextCursor: page.nextCursor, reset: cursor === null });
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(errorMessage(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [filterKey]);

  useEffect(() => {
    dispatch({ type: 'filters', filters });
    void load(null);
  }, [filterKey]);

  // The org's live feed. After a reconnect the first page is fetched again, to catch what was missed.
  const reloadFirstPage = useRef(load);
  reloadFirstPage.current = load;
  useEffect(() => {
    let wasOpen = false;
    const socket = openLive<HubMessage>({
      path: '/api/live',
      onMessage: (message) => dispatch({ type: 'hub', message }),
      onState: (s) => {
        setLive(s);
        if (s === 'open') { if (wasOpen) void reloadFirstPage.current(null); wasOpen = true; }
      },
    });
    return () => socket.close();
  }, []);

  // Infinite scroll: load the next page when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !state.nextCursor || loading) return;
    const io = new IntersectionObserver((entries) => { if (entries.some((x) => x.isIntersecting)) void load(state.nextCursor); }, { rootMargin: '400px' });
    io.observe(el);
    return () => io.disconnect();
  }, [state.nextCursor, loading, load]);

  const setFilters = (f: ExecutionFilters) => navigate(`/executions${filtersToSearch(f)}`, { replace: true });
  const projectById = useMemo(() => new Map((projects.data ?? []).map((p) => [p.id, p])), [projects.data]);
  const selectable = can(role, 'cancelRuns') || can(role, 'deleteRuns');
  const selected = [...state.selected];
  const now = useNow(state.items.some((x) => x.startedAt !== null && !isFinal(x.status)));

  const bulk = async (action: 'cancel' | 'delete') => {
    if (action === 'delete' && !confirm(`Delete ${selected.length} run(s) with their logs and results? This cannot be undone.`)) return;
    setBulkBusy(true);
    try {
      const res = await api<{ results: Array<{ taskId: string; ok: boolean; code?: string }> }>('/api/executions/bulk', { method: 'POST', body: { action, taskIds: selected } });
      const done = res.results.filter((r) => r.ok);
      if (action === 'delete') dispatch({ type: 'hub', message: { type: 'execution-deleted', taskIds: done.map((r) => r.taskId) } });
      const failed = res.results.length - done.length;
      toast(`${action === 'delete' ? 'Deleted' : 'Cancel requested for'} ${done.length} run(s)${failed ? `; ${failed} could not be ${action === 'delete' ? 'deleted' : 'cancelled'}` : ''}`, failed ? 'error' : 'ok');
      dispatch({ type: 'select-all', on: false });
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBulkBusy(false);
  };

  return (
    <div>
      <PageHeader title="Executions" subtitle={<LiveDot state={live} />}
        actions={can(role, 'runTests') && <Link href="/run" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-indigo-500">Run tests</Link>} />
      <FilterBar filters={filters} projects={projects.data ?? []} onChange={setFilters} />

      {selectable && state.selected.size > 0 && (
        <div class="sticky top-12 z-20 mt-3 flex flex-wrap items-center gap-2 rounded-md bg-indigo-50 px-3 py-2 text-sm ring-1 ring-indigo-200 md:top-2 dark:bg-indigo-950 dark:ring-indigo-900" role="region" aria-label="Bulk actions">
          <span class="font-medium">{state.selected.size} selected</span>
          {can(role, 'cancelRuns') && <Button variant="secondary" busy={bulkBusy} onClick={() => bulk('cancel')}>Cancel selected</Button>}
          {can(role, 'deleteRuns') && <Button variant="danger" busy={bulkBusy} onClick={() => bulk('delete')}>Delete selected</Button>}
          <button type="button" class="ml-auto underline" onClick={() => dispatch({ type: 'select-all', on: false })}>Clear</button>
        </div>
      )}

      <div class="mt-3 overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
        <div class="hidden items-center gap-x-3 border-b border-slate-200 bg-slate-50 px-3 py-2 text-xs font-medium text-slate-500 md:flex dark:border-slate-800 dark:bg-slate-900/60">
          {selectable && (
            <input type="checkbox" class="size-4" aria-label="Select all loaded runs"
              checked={state.items.length > 0 && state.selected.size === state.items.length}
              onChange={(e) => dispatch({ type: 'select-all', on: e.currentTarget.checked })} />
          )}
          <span class="w-28">Status</span><span class="flex-1">Run</span><span class="w-24">Environment</span>
          <span class="w-36">Tests</span><span class="w-20">Duration</span><span class="w-24 text-right">Queued</span>
        </div>
        {error && <div class="p-3"><Notice>{error} <button type="button" class="underline" onClick={() => load(null)}>Retry</button></Notice></div>}
        {!state.items.length && !loading && !error && (
          <Empty>{Object.keys(filters).length ? 'No runs match these filters.' : 'No runs yet. Queue one from Run tests, or report one from your CI.'}</Empty>
        )}
        <ul class="divide-y divide-slate-200 dark:divide-slate-800" data-testid="executions">
          {state.items.map((e) => (
            <Row key={e.taskId} e={e} project={projectById.get(e.projectId)} selectable={selectable}
              selected={state.selected.has(e.taskId)} onToggle={() => dispatch({ type: 'toggle', taskId: e.taskId })} now={now} />
          ))}
        </ul>
        {loading && <Spinner />}
        <div ref={sentinel} />
        {state.nextCursor && !loading && (
          <div class="border-t border-slate-200 p-2 text-center dark:border-slate-800">
            <Button variant="ghost" onClick={() => load(state.nextCursor)}>Load more</Button>
          </div>
        )}
      </div>
    </div>
  );
}
