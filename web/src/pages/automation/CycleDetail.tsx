// One cycle: its summary, "Run automated items", and the items — testers mark manual ones
// (passed/failed/blocked/skipped with notes); automated ones follow their runs. While the cycle is
// open the page re-reads it every few seconds, so run results appear without a reload.
import { useEffect, useState } from 'preact/hooks';
import { Badge, Button, Card, inputClass, Notice, PageHeader, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { can } from '../../lib/permissions';
import { Link } from '../../lib/router';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import { useApi } from '../../lib/use-api';
import { CYCLE_STATUS_STYLE } from './Cycles';
import { CycleSummaryBar } from './CycleSummaryBar';
import type { Cycle, CycleItem } from './types';

const REFRESH_MS = 3000;
const MARKS = [
  ['PASSED', 'Pass'],
  ['FAILED', 'Fail'],
  ['BLOCKED', 'Blocked'],
  ['SKIPPED', 'Skip'],
] as const;
const ITEM_STYLE: Record<string, string> = {
  PASSED: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200',
  FAILED: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
  ERROR: 'bg-orange-100 text-orange-800 dark:bg-orange-900 dark:text-orange-200',
  TIMED_OUT: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
  BLOCKED: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
  RUNNING: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
};

function ItemRow({ cycleId, item, editable, onChanged }: { cycleId: string; item: CycleItem; editable: boolean; onChanged: (c: Cycle) => void }) {
  const [notes, setNotes] = useState(item.notes ?? '');
  const [busy, setBusy] = useState<string | null>(null);
  const update = async (body: Record<string, unknown>, what: string) => {
    setBusy(what);
    try {
      onChanged(await api<Cycle>(`/api/test-cycles/${encodeURIComponent(cycleId)}/items/${encodeURIComponent(item.id)}`, { method: 'PATCH', body }));
    } catch (err) {
      toast(errorMessage(err), 'error');
    } finally {
      setBusy(null);
    }
  };
  return (
    <li class='space-y-2 px-4 py-3' data-testid='cycle-item' data-item-type={item.type}>
      <div class='flex flex-wrap items-center gap-2'>
        <span class='min-w-0 flex-1 font-medium'>{item.title}</span>
        <Badge class='bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300'>{item.type}</Badge>
        <Badge class={ITEM_STYLE[item.status] ?? 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'}>
          <span data-item-status={item.status}>{item.status.replace('_', ' ')}</span>
        </Badge>
        {item.taskId && (
          <Link href={`/executions/${encodeURIComponent(item.taskId)}`} class='text-sm text-indigo-600 underline dark:text-indigo-400'>
            Run
          </Link>
        )}
      </div>
      {item.type === 'manual' && editable ? (
        <div class='flex flex-wrap items-center gap-2'>
          {MARKS.map(([status, label]) => (
            <Button
              key={status}
              variant={item.status === status ? 'primary' : 'secondary'}
              busy={busy === status}
              aria-pressed={item.status === status}
              onClick={() => update({ status, notes: notes.trim() || null }, status)}
            >
              {label}
            </Button>
          ))}
          <input
            aria-label={`Notes for ${item.title}`}
            class={`${inputClass} min-w-48 flex-1`}
            value={notes}
            placeholder='Notes'
            onInput={(e) => setNotes((e.currentTarget as HTMLInputElement).value)}
            onBlur={() => {
              if ((item.notes ?? '') !== notes.trim()) void update({ notes: notes.trim() || null }, 'notes');
            }}
          />
        </div>
      ) : item.notes ? (
        <p class='text-sm text-slate-600 dark:text-slate-400'>{item.notes}</p>
      ) : null}
    </li>
  );
}

export function CycleDetailPage({ id }: { id: string }) {
  const { role } = useUser();
  const editable = can(role, 'editProjects');
  const cycle = useApi<Cycle>(`/api/test-cycles/${encodeURIComponent(id)}`);
  const [running, setRunning] = useState(false);
  const open = cycle.data?.status !== 'COMPLETED' || cycle.data?.items?.some((i) => i.status === 'RUNNING');

  useEffect(() => {
    if (!open) return;
    const timer = setInterval(() => {
      void cycle.reload();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [open, cycle.reload]);

  if (cycle.error && !cycle.data) return <Notice>{cycle.error}</Notice>;
  if (!cycle.data) return <Spinner />;
  const c = cycle.data;
  const automated = c.items?.filter((i) => i.type === 'automated') ?? [];

  const run = async () => {
    setRunning(true);
    try {
      const r = await api<{ started: unknown[]; failed: Array<{ error: string }>; cycle: Cycle }>(`/api/test-cycles/${encodeURIComponent(c.id)}/run`, {
        method: 'POST',
        body: {},
      });
      cycle.setData(r.cycle);
      toast(`Started ${r.started.length} automated ${r.started.length === 1 ? 'run' : 'runs'}`);
      if (r.failed.length) toast(r.failed[0]!.error, 'error');
    } catch (err) {
      toast(errorMessage(err), 'error');
    } finally {
      setRunning(false);
    }
  };

  return (
    <div class='space-y-4'>
      <PageHeader
        title={c.name}
        subtitle={
          <Link href='/test-cycles' class='underline'>
            All cycles
          </Link>
        }
        actions={
          editable && c.source === 'manual' && automated.length > 0 ? (
            <Button busy={running} disabled={automated.every((i) => i.status === 'RUNNING')} onClick={run}>
              Run automated items
            </Button>
          ) : null
        }
      />
      <Card>
        <div class='flex flex-wrap items-center gap-4'>
          <Badge class={CYCLE_STATUS_STYLE[c.status]}>
            <span data-testid='cycle-status'>{c.status}</span>
          </Badge>
          {c.source === 'external-ci' && <Badge class='bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-200'>external CI</Badge>}
          <CycleSummaryBar summary={c.summary} />
        </div>
      </Card>
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='cycle-items'>
          {c.items?.map((item) => (
            <ItemRow key={item.id} cycleId={c.id} item={item} editable={editable} onChanged={(next) => cycle.setData(next)} />
          ))}
        </ul>
      </div>
    </div>
  );
}
