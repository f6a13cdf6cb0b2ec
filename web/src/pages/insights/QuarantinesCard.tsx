// The project's quarantined tests: owner, test, reason and expiry. A member who may edit projects can
// end a quarantine early.
import { Button, Card, Empty, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { dateTime } from '../../lib/format';
import { toast } from '../../lib/toast';
import type { ApiResource } from '../../lib/use-api';
import type { QuarantineEntry } from './types';

export function QuarantinesCard({ quarantines, editable }: { quarantines: ApiResource<QuarantineEntry[]>; editable: boolean }) {
  const end = async (q: QuarantineEntry) => {
    try {
      await api(`/api/quarantines/${q.id}`, { method: 'DELETE' });
      toast('Quarantine ended');
      void quarantines.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <Card title='Quarantined tests'>
      {quarantines.error ? (
        <Notice>{quarantines.error}</Notice>
      ) : !quarantines.data?.length ? (
        <Empty>No test is quarantined.</Empty>
      ) : (
        <table class='w-full text-sm' data-testid='quarantines'>
          <thead>
            <tr class='text-left text-xs text-slate-500'>
              <th class='py-1'>Owner</th>
              <th>Test</th>
              <th class='hidden sm:table-cell'>Reason</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {quarantines.data.map((q) => (
              <tr key={q.id} class='border-t border-slate-100 dark:border-slate-800'>
                <td class='py-1 pr-2'>{q.owner}</td>
                <td class='pr-2 break-all'>{q.testKey}</td>
                <td class='hidden pr-2 sm:table-cell'>{q.reason}</td>
                <td class='whitespace-nowrap'>{dateTime(q.expiresAt)}</td>
                <td class='text-right'>
                  {editable && (
                    <Button variant='secondary' onClick={() => void end(q)}>
                      End
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
