// Accepting an invitation: the token comes from the link (?token=…); the invitee picks a name and password.
// The link is looked up first, so a used, revoked or expired one says so instead of showing the form.
import { useEffect, useState } from 'preact/hooks';
import { AuthShell } from '../components/AuthShell';
import { Button, Field, inputClass, Notice, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { formValues } from '../lib/form';
import { navigate, useLocation } from '../lib/router';
import { useSession } from '../lib/session';
import type { Organization, User } from '../lib/types';

export function AcceptInvitePage() {
  const { state, signedIn } = useSession();
  const { search } = useLocation();
  const token = new URLSearchParams(search).get('token') ?? '';
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [invite, setInvite] = useState<{ email: string; role: string; organizationName: string } | { error: string } | null>(null);
  useEffect(() => {
    if (!token) return;
    api<{ email: string; role: string; organizationName: string }>(`/api/invitations/lookup?token=${encodeURIComponent(token)}`).then(setInvite, (err) =>
      setInvite({ error: errorMessage(err) }),
    );
  }, [token]);

  const submit = async (e: Event) => {
    const { name, password } = formValues(e);
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ user: User; organization: Organization }>('/api/invitations/accept', { method: 'POST', body: { token, name, password } });
      signedIn(res.user, res.organization);
      navigate('/executions', { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthShell title='Join your team'>
      {state.status === 'authed' && (
        <div class='mb-4'>
          <Notice kind='info'>You are signed in as {state.user.email}. Accepting creates a new account.</Notice>
        </div>
      )}
      {!token ? (
        <Notice>This invitation link has no token. Open the link from your invitation again.</Notice>
      ) : !invite ? (
        <Spinner label='Checking the invitation' />
      ) : 'error' in invite ? (
        <Notice>{invite.error}</Notice>
      ) : (
        <form onSubmit={submit} class='space-y-4'>
          <p class='text-sm text-slate-600 dark:text-slate-400' data-testid='invite-summary'>
            Join <strong>{invite.organizationName}</strong> as {invite.role} with <strong>{invite.email}</strong>.
          </p>
          {error && <Notice>{error}</Notice>}
          <Field label='Your name'>
            <input name='name' autoComplete='name' required maxLength={100} class={inputClass} />
          </Field>
          <Field label='Choose a password' hint='At least 10 characters, with a letter and a digit.'>
            <input name='password' type='password' autoComplete='new-password' required minLength={10} class={inputClass} />
          </Field>
          <Button type='submit' busy={busy} class='w-full'>
            Accept invitation
          </Button>
        </form>
      )}
    </AuthShell>
  );
}
