// Cancel or delete the selected runs in one request (POST /api/executions/bulk). Deleted runs leave the
// list at once; cancelled ones change status through the hub like any other run. The answer says
// run by run what was done, so a partial success is reported as such.
import type { Dispatch } from 'preact/hooks';
import { useState } from 'preact/hooks';
import { Button } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import type { ListAction } from '../../lib/live-list';
import { can } from '../../lib/permissions';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';

type BulkAction = 'cancel' | 'delete';
type BulkAnswer = { results: Array<{ taskId: string; ok: boolean; code?: string }> };

export function BulkActionsBar({ selected, dispatch }: { selected: ReadonlySet<string>; dispatch: Dispatch<ListAction> }) {
  const { role } = useUser();
  const [busy, setBusy] = useState(false);

  const run = async (action: BulkAction) => {
    const taskIds = [...selected];
    if (action === 'delete' && !confirm(`Delete ${taskIds.length} run(s) with their logs and results? This cannot be undone.`)) return;
    setBusy(true);
    try {
      const res = await api<BulkAnswer>('/api/executions/bulk', { method: 'POST', body: { action, taskIds } });
      const done = res.results.filter((r) => r.ok);
      if (action === 'delete') dispatch({ type: 'hub', message: { type: 'executions', updated: [], deleted: done.map((r) => r.taskId) } });
      const failed = res.results.length - done.length;
      toast(
        `${action === 'delete' ? 'Deleted' : 'Cancel requested for'} ${done.length} run(s)${failed ? `; ${failed} could not be ${action === 'delete' ? 'deleted' : 'cancelled'}` : ''}`,
        failed ? 'error' : 'ok',
      );
      dispatch({ type: 'select-all', on: false });
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBusy(false);
  };

  return (
    <div
      class='sticky top-12 z-20 mt-3 flex flex-wrap items-center gap-2 rounded-md bg-indigo-50 px-3 py-2 text-sm ring-1 ring-indigo-200 md:top-2 dark:bg-indigo-950 dark:ring-indigo-900'
      role='region'
      aria-label='Bulk actions'
    >
      <span class='font-medium'>{selected.size} selected</span>
      {can(role, 'cancelRuns') && (
        <Button variant='secondary' busy={busy} onClick={() => run('cancel')}>
          Cancel selected
        </Button>
      )}
      {can(role, 'deleteRuns') && (
        <Button variant='danger' busy={busy} onClick={() => run('delete')}>
          Delete selected
        </Button>
      )}
      <button type='button' class='ml-auto underline' onClick={() => dispatch({ type: 'select-all', on: false })}>
        Clear
      </button>
    </div>
  );
}
