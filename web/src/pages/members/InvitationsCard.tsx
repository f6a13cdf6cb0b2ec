// Invitations, for admins: the invite form, then every invitation with its status; a pending one can
// be revoked.
import { Badge, Button, Card, Empty, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { ago } from '../../lib/format';
import { toast } from '../../lib/toast';
import type { Invitation } from '../../lib/types';
import type { ApiResource } from '../../lib/use-api';
import { InviteForm } from './InviteForm';

export function InvitationsCard({ invitations }: { invitations: ApiResource<Invitation[]> }) {
  const revoke = async (inv: Invitation) => {
    try {
      await api(`/api/invitations/${encodeURIComponent(inv.id)}`, { method: 'DELETE' });
      void invitations.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <Card title='Invitations'>
      <InviteForm onInvited={() => void invitations.reload()} />
      {!invitations.data ? (
        <Spinner />
      ) : !invitations.data.length ? (
        <Empty>No invitations.</Empty>
      ) : (
        <ul class='divide-y divide-slate-200 text-sm dark:divide-slate-800'>
          {invitations.data.map((inv) => (
            <li key={inv.id} class='flex flex-wrap items-center gap-x-4 gap-y-1 py-2'>
              <span class='min-w-0 flex-1'>{inv.email}</span>
              <Badge class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>{inv.role}</Badge>
              <span class='w-20 text-xs'>{inv.status}</span>
              <span class='text-xs text-slate-500'>sent {ago(inv.createdAt)}</span>
              {inv.status === 'pending' && (
                <Button variant='ghost' onClick={() => revoke(inv)}>
                  Revoke
                </Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
