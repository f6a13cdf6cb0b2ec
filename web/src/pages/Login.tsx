// Log in. The server sets the HttpOnly session cookie; the token in the response body is ignored.
import { useState } from 'preact/hooks';
import { AuthShell } from '../components/AuthShell';
import { Button, Field, inputClass, Notice } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { formValues, safeNext } from '../lib/form';
import { Link, navigate, useLocation } from '../lib/router';
import { useSession } from '../lib/session';
import type { Organization, User } from '../lib/types';

export function LoginPage() {
  const { signedIn } = useSession();
  const { search } = useLocation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const expired = new URLSearchParams(search).get('expired') === '1';

  const submit = async (e: Event) => {
    const { email, password } = formValues(e);
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ user: User; organization: Organization }>('/api/auth/login', { method: 'POST', body: { email, password } });
      signedIn(res.user, res.organization);
      navigate(safeNext(search), { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthShell
      title='Log in'
      footer={
        <>
          New to Agnox?{' '}
          <Link href='/signup' class='font-medium text-indigo-600 underline dark:text-indigo-400'>
            Create an organization
          </Link>
        </>
      }
    >
      <form onSubmit={submit} class='space-y-4'>
        {expired && <Notice kind='info'>Your session ended. Log in again to continue.</Notice>}
        {error && <Notice>{error}</Notice>}
        <Field label='Email'>
          <input name='email' type='email' autoComplete='username' required class={inputClass} />
        </Field>
        <Field label='Password'>
          <input name='password' type='password' autoComplete='current-password' required class={inputClass} />
        </Field>
        <Button type='submit' busy={busy} class='w-full'>
          Log in
        </Button>
      </form>
    </AuthShell>
  );
}
