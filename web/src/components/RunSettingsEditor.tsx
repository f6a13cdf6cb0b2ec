// One environment's run settings: base URL, variables, and secret variables. Secrets come back from
// the server masked; they can be replaced or removed, never read.
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../lib/api';
import { formatKeyValues, parseKeyValues } from '../lib/kv';
import { toast } from '../lib/toast';
import type { RunSettings } from '../lib/types';
import { Button, Card, Field, inputClass, Notice } from './ui';

type Props = { projectId: string; settings: RunSettings; editable: boolean; onSaved: (s: RunSettings) => void; onDeleted: () => void; isNew?: boolean };

export function RunSettingsEditor({ projectId, settings, editable, onSaved, onDeleted, isNew }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [removed, setRemoved] = useState<Set<string>>(new Set());
  const path = `/api/projects/${encodeURIComponent(projectId)}/run-settings/${encodeURIComponent(settings.environment)}`;

  const save = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const variables = parseKeyValues(String(form.get('variables') ?? ''));
    const secrets = parseKeyValues(String(form.get('secrets') ?? ''));
    const problems = [...variables.errors.map((x) => `Variables: ${x}`), ...secrets.errors.map((x) => `Secrets: ${x}`)];
    if (problems.length) {
      setError(problems.join('; '));
      return;
    }
    const secretVariables: Record<string, string | null> = { ...secrets.map };
    for (const name of removed) if (!(name in secretVariables)) secretVariables[name] = null;
    const baseUrl = String(form.get('baseUrl') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const saved = await api<RunSettings>(path, { method: 'PUT', body: { baseUrl: baseUrl || null, variables: variables.map, secretVariables } });
      (e.currentTarget as HTMLFormElement | null)?.reset?.();
      setRemoved(new Set());
      onSaved(saved);
      toast(`Saved ${settings.environment} settings`);
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  const remove = async () => {
    if (isNew) {
      onDeleted();
      return;
    }
    if (!confirm(`Delete the ${settings.environment} run settings?`)) return;
    try {
      await api(path, { method: 'DELETE' });
      onDeleted();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const secretNames = Object.keys(settings.secretVariables);
  return (
    <Card
      title={<span data-testid='env-name'>{settings.environment}</span>}
      actions={
        editable && (
          <Button variant='ghost' onClick={remove}>
            Delete
          </Button>
        )
      }
    >
      <form onSubmit={save} class='space-y-3'>
        {error && <Notice>{error}</Notice>}
        <Field label='Base URL'>
          <input
            name='baseUrl'
            type='url'
            disabled={!editable}
            defaultValue={settings.baseUrl ?? ''}
            placeholder='https://staging.example.com'
            class={inputClass}
          />
        </Field>
        <Field label='Variables' hint='KEY=value per line.'>
          <textarea name='variables' rows={3} disabled={!editable} defaultValue={formatKeyValues(settings.variables)} class={`${inputClass} font-mono`} />
        </Field>
        <div>
          <p class='mb-1 text-sm font-medium text-slate-700 dark:text-slate-300'>Secret variables</p>
          {secretNames.length === 0 ? (
            <p class='text-xs text-slate-500'>None.</p>
          ) : (
            <ul class='mb-2 space-y-1 text-sm' data-testid='secrets'>
              {secretNames.map((name) => (
                <li key={name} class='flex items-center gap-3'>
                  <code class={removed.has(name) ? 'line-through opacity-60' : ''}>{name}</code>
                  <span class='font-mono text-slate-500'>
                    <span aria-hidden='true'>{settings.secretVariables[name]}</span>
                    <span class='sr-only'>hidden value</span>
                  </span>
                  {editable && (
                    <label class='ml-auto text-xs'>
                      <input
                        type='checkbox'
                        class='mr-1'
                        checked={removed.has(name)}
                        onChange={() => {
                          const next = new Set(removed);
                          if (!next.delete(name)) next.add(name);
                          setRemoved(next);
                        }}
                      />
                      remove
                    </label>
                  )}
                </li>
              ))}
            </ul>
          )}
          {editable && (
            <Field label='Set secrets' hint='KEY=value per line; replaces a secret of the same name. Values are never shown again.'>
              <textarea name='secrets' rows={2} class={`${inputClass} font-mono`} autoComplete='off' spellcheck={false} />
            </Field>
          )}
        </div>
        {editable && (
          <Button type='submit' busy={busy}>
            Save {settings.environment}
          </Button>
        )}
      </form>
    </Card>
  );
}
