// Invite someone by email with a role. The answer carries the invitation link, shown here once (the
// server keeps only its hash) with a copy button.
import { useState } from 'preact/hooks';
import { CopyButton } from '../../components/CopyButton';
import { Button, Field, inputClass, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import type { Invitation } from '../../lib/types';
import { ROLES } from './roles';

export function InviteForm({ onInvited }: { onInvited: () => void }) {
  const [created, setCreated] = useState<Invitation | null>(null);
  const [error, setError] = useState<string | null>(null);

  const invite = async (e: Event) => {
    const form = e.currentTarget as HTMLFormElement;
    const { email, role } = formValues(e);
    setError(null);
    try {
      const inv = await api<Invitation>('/api/invitations', { method: 'POST', body: { email, role } });
      setCreated(inv);
      form.reset();
      onInvited();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <>
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
            <code class='min-w-0 flex-1 overflow-x-auto rounded bg-slate-100 px-2 py-1.5 text-xs whitespace-pre dark:bg-slate-800' data-testid='invite-link'>
              {created.acceptUrl}
            </code>
            <CopyButton value={created.acceptUrl} />
          </div>
        </div>
      )}
    </>
  );
}
