// API keys for CI and the reporter. A new key is shown once; afterwards only its prefix.
import { useState } from 'preact/hooks';
import { CopyButton } from '../../components/CopyButton';
import { Button, Card, Empty, Field, inputClass, Notice, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { ago } from '../../lib/format';
import { toast } from '../../lib/toast';
import type { ApiKey } from '../../lib/types';
import { useApi } from '../../lib/use-api';

export function ApiKeysTab() {
  const keys = useApi<ApiKey[]>('/api/api-keys');
  const [fresh, setFresh] = useState<ApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);

  const create = async (e: Event) => {
    const form = e.currentTarget as HTMLFormElement;
    const { name } = formValues(e);
    setError(null);
    try {
      const key = await api<ApiKey>('/api/api-keys', { method: 'POST', body: { name } });
      setFresh(key);
      form.reset();
      void keys.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke ${k.name}? CI jobs using it will stop working.`)) return;
    try {
      await api(`/api/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      void keys.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <Card title='API keys'>
      <form onSubmit={create} class='mb-4 flex flex-wrap items-end gap-2'>
        <Field label='Key name' class='min-w-56 flex-1'>
          <input name='name' required maxLength={100} placeholder='GitHub Actions' class={inputClass} />
        </Field>
        <Button type='submit'>Create key</Button>
      </form>
      {error && <Notice>{error}</Notice>}
      {fresh?.key && (
        <div class='mb-4 space-y-2'>
          <Notice kind='ok'>Copy this key now: it is shown only once.</Notice>
          <div class='flex items-start gap-2'>
            <code class='min-w-0 flex-1 overflow-x-auto rounded bg-slate-100 px-2 py-1.5 text-xs dark:bg-slate-800' data-testid='new-api-key'>
              {fresh.key}
            </code>
            <CopyButton value={fresh.key} />
          </div>
        </div>
      )}
      {!keys.data ? (
        <Spinner />
      ) : !keys.data.length ? (
        <Empty>No API keys.</Empty>
      ) : (
        <ul class='divide-y divide-slate-200 text-sm dark:divide-slate-800'>
          {keys.data.map((k) => (
            <li key={k.id} class='flex flex-wrap items-center gap-x-4 gap-y-1 py-2'>
              <span class='min-w-0 flex-1 font-medium'>{k.name}</span>
              <code class='text-xs'>{k.prefix}…</code>
              <span class='text-xs text-slate-500'>{k.revokedAt ? `revoked ${ago(k.revokedAt)}` : `last used ${ago(k.lastUsedAt)}`}</span>
              {!k.revokedAt && (
                <Button variant='ghost' onClick={() => revoke(k)}>
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
