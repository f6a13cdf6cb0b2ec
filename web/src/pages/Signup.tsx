// Sign up: creates an organization with you as its admin.
import { useState } from 'preact/hooks';
import { AuthShell } from '../components/AuthShell';
import { Button, Field, inputClass, Notice } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { formValues } from '../lib/form';
import { Link, navigate } from '../lib/router';
import { useSession } from '../lib/session';
import type { Organization, User } from '../lib/types';

export function SignupPage() {
  const { signedIn } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    const body = formValues(e);
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ user: User; organization: Organization }>('/api/auth/signup', { method: 'POST', body });
      signedIn(res.user, res.organization);
      navigate('/projects?welcome=1', { replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <AuthShell
      title='Create your organization'
      footer={
        <>
          Already have an account?{' '}
          <Link href='/login' class='font-medium text-indigo-600 underline dark:text-indigo-400'>
            Log in
          </Link>
        </>
      }
    >
      <form onSubmit={submit} class='space-y-4'>
        {error && <Notice>{error}</Notice>}
        <Field label='Your name'>
          <input name='name' autoComplete='name' required maxLength={100} class={inputClass} />
        </Field>
        <Field label='Organization'>
          <input name='organizationName' autoComplete='organization' required minLength={2} maxLength={100} class={inputClass} />
        </Field>
        <Field label='Work email'>
          <input name='email' type='email' autoComplete='email' required class={inputClass} />
        </Field>
        <Field label='Password' hint='At least 10 characters, with a letter and a digit.'>
          <input name='password' type='password' autoComplete='new-password' required minLength={10} class={inputClass} />
        </Field>
        <Button type='submit' busy={busy} class='w-full'>
          Sign up
        </Button>
      </form>
    </AuthShell>
  );
}
