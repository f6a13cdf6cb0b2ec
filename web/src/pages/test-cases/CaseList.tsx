// The project's test cases that match the filters; one at a time can be opened to show its steps.
// Deleting asks first, then reloads the list.
import { useState } from 'preact/hooks';
import { Empty, Notice, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { toast } from '../../lib/toast';
import type { ApiResource } from '../../lib/use-api';
import type { TestCase } from '../automation/types';
import { CaseRow } from './CaseRow';

export function CaseList({ cases, editable, onEdit }: { cases: ApiResource<TestCase[]>; editable: boolean; onEdit: (c: TestCase) => void }) {
  const [open, setOpen] = useState<string | null>(null);

  const remove = async (c: TestCase) => {
    if (!confirm(`Delete the test case ${c.title}?`)) return;
    try {
      await api(`/api/test-cases/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      toast('Test case deleted');
      await cases.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
      {cases.error && (
        <div class='p-3'>
          <Notice>{cases.error}</Notice>
        </div>
      )}
      {cases.loading && !cases.data ? (
        <Spinner />
      ) : !cases.data?.length ? (
        <Empty>No test cases match.</Empty>
      ) : (
        <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='test-cases'>
          {cases.data.map((c) => (
            <CaseRow
              key={c.id}
              c={c}
              open={open === c.id}
              onToggle={() => setOpen(open === c.id ? null : c.id)}
              editable={editable}
              onEdit={() => onEdit(c)}
              onDelete={() => remove(c)}
            />
          ))}
        </ul>
      )}
    </div>
  );
}
