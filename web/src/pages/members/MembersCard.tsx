// The organization's members with their last login. Admins change anyone's role but their own, and
// remove members; everyone else sees the role as a badge.
import { Badge, Button, Card, inputClass, Notice, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { ago } from '../../lib/format';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Role, User } from '../../lib/types';
import type { ApiResource } from '../../lib/use-api';
import { ROLES } from './roles';

export function MembersCard({ members, admin }: { members: ApiResource<User[]>; admin: boolean }) {
  const { user: me } = useUser();

  const changeRole = async (u: User, next: Role) => {
    try {
      const updated = await api<User>(`/api/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { role: next } });
      members.setData((cur) => cur?.map((x) => (x.id === u.id ? updated : x)));
      toast(`${u.name} is now ${next}`);
    } catch (err) {
      toast(errorMessage(err), 'error');
      // The select already shows the refused role: reload so it shows the one the server holds.
      void members.reload();
    }
  };

  const removeMember = async (u: User) => {
    if (!confirm(`Remove ${u.name} (${u.email}) from the organization?`)) return;
    try {
      await api(`/api/users/${encodeURIComponent(u.id)}`, { method: 'DELETE' });
      members.setData((cur) => cur?.filter((x) => x.id !== u.id));
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <Card title='Members'>
      {members.error && <Notice>{members.error}</Notice>}
      {!members.data ? (
        <Spinner />
      ) : (
        <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='members'>
          {members.data.map((u) => (
            <li key={u.id} class='flex flex-wrap items-center gap-x-4 gap-y-2 py-2'>
              <span class='min-w-0 flex-1'>
                <span class='font-medium'>{u.name}</span>
                {u.id === me.id && <span class='text-xs text-slate-500'> (you)</span>}
                <br />
                <span class='text-xs break-all text-slate-500'>{u.email}</span>
              </span>
              <span class='text-xs text-slate-500'>last login {ago(u.lastLoginAt)}</span>
              {admin && u.id !== me.id ? (
                <>
                  <select
                    aria-label={`Role of ${u.name}`}
                    class={`${inputClass} w-32`}
                    value={u.role}
                    onChange={(e) => changeRole(u, e.currentTarget.value as Role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                  <Button variant='ghost' onClick={() => removeMember(u)}>
                    Remove
                  </Button>
                </>
              ) : (
                <Badge class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>{u.role}</Badge>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
