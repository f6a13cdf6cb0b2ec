// This browser's session, and (for admins) the organization's recent security-relevant actions.
import { Button, Card, Empty, Spinner } from '../../components/ui';
import { dateTime } from '../../lib/format';
import { can } from '../../lib/permissions';
import { useSession, useUser } from '../../lib/session';
import { useApi } from '../../lib/use-api';

type AuditRow = { id: string; action: string; userId: string | null; targetType: string | null; targetId: string | null; ip: string | null; createdAt: number };

export function SecurityTab() {
  const { user, role } = useUser();
  const { logout } = useSession();
  const audit = useApi<AuditRow[]>(can(role, 'manageOrganization') ? '/api/organization/audit-logs' : null);
  return (
    <div class='space-y-4'>
      <Card title='This session'>
        <div class='space-y-2 text-sm'>
          <p>
            Signed in as <span class='font-medium'>{user.email}</span> since {dateTime(user.lastLoginAt)}.
          </p>
          <p class='text-slate-500'>
            Your session is kept in a secure, HttpOnly cookie that page scripts cannot read. It lasts 24 hours; logging out revokes it on the server at once.
          </p>
          <Button variant='secondary' onClick={() => void logout()}>
            Log out of this browser
          </Button>
        </div>
      </Card>
      {can(role, 'manageOrganization') && (
        <Card title='Recent activity'>
          {!audit.data ? (
            <Spinner />
          ) : !audit.data.length ? (
            <Empty>Nothing recorded yet.</Empty>
          ) : (
            <ul class='divide-y divide-slate-200 text-sm dark:divide-slate-800'>
              {audit.data.slice(0, 50).map((a) => (
                <li key={a.id} class='flex flex-wrap gap-x-4 py-1.5'>
                  <code class='text-xs'>{a.action}</code>
                  <span class='min-w-0 flex-1 truncate text-xs text-slate-500'>{a.targetType ? `${a.targetType} ${a.targetId ?? ''}` : ''}</span>
                  <span class='text-xs text-slate-500'>{dateTime(a.createdAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </div>
  );
}
