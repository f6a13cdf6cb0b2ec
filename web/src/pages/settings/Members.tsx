// Members and their roles, and invitations. Admins change roles, remove members and invite.
import { useState } from 'preact/hooks';
import { CopyButton } from '../../components/CopyButton';
import { Badge, Button, Card, Empty, Field, inputClass, Notice, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { ago } from '../../lib/format';
import { can } from '../../lib/permissions';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Invitation, Role, User } from '../../lib/types';
import { useApi } from '../../lib/use-api';

const ROLES: Role[] = ['admin', 'developer', 'viewer'];

export function MembersTab() {
  const { user: me, role } = useUser();
  const admin = can(role, 'manageMembers');
  const members = useApi<User[]>('/api/users');
  const invitations = useApi<Invitation[]>(admin ? '/api/invitations' : null);
  const [created, setCreated] = useState<Invitation | null>(null);
  const [error, setError] = useState<string | null>(null);

  const changeRole = async (u: User, next: Role) => {
    try {
      const updated = await api<User>(`/api/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body: { role: next } });
      members.setData((cur) => cur?.map((x) => (x.id === u.id ? updated : x)));
      toast(`${u.name} is now ${next}`);
    } catch (err) {
      toast(errorMessage(err), 'error');
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

  const invite = async (e: Event) => {
    const form = e.currentTarget as HTMLFormElement;
    const { email, role: inviteRole } = formValues(e);
    setError(null);
    try {
      const inv = await api<Invitation>('/api/invitations', { method: 'POST', body: { email, role: inviteRole } });
      setCreated(inv);
      form.reset();
      void invitations.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const revoke = async (inv: Invitation) => {
    try {
      await api(`/api/invitations/${encodeURIComponent(inv.id)}`, { method: 'DELETE' });
      void invitations.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <div class='space-y-4'>
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

      {admin && (
        <Card title='Invitations'>
          <form onSubmit={invite} class='mb-4 flex flex-wrap items-end gap-2'>
            <Field label='Email' class='min-w-56 flex-1'>
              <input name='email' type='email' required class={inputClass} />
            </Field>
            <Field label='Role'>
              <select name='role' class={inputClass}>
                {ROLES.map((r) => (
                  <option key={r} value={r} selected={r === 'developer'}>
                    {r}
                  </option>
                ))}
              </select>
            </Field>
            <Button type='submit'>Invite</Button>
          </form>
          {error && <Notice>{error}</Notice>}
          {created?.acceptUrl && (
            <div class='mb-4 space-y-2'>
              <Notice kind='ok'>Invitation created for {created.email}. Send them this link (shown once):</Notice>
              <div class='flex items-start gap-2'>
                <code
                  class='min-w-0 flex-1 overflow-x-auto rounded bg-slate-100 px-2 py-1.5 text-xs whitespace-pre dark:bg-slate-800'
                  data-testid='invite-link'
                >
                  {created.acceptUrl}
                </code>
                <CopyButton value={created.acceptUrl} />
              </div>
            </div>
          )}
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
      )}
    </div>
  );
}
