// One environment's run settings: base URL, variables, and secret variables. Secrets come back from
// the server masked; they can be replaced or removed, never read.
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../lib/api';
import { formatKeyValues, parseKeyValues } from '../lib/kv';
import { toast } from '../lib/toast';
import type { RunSettings } from '../lib/types';
import { SecretVariables } from './run-settings/SecretVariables';
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
        <SecretVariables secrets={settings.secretVariables} editable={editable} removed={removed} onRemovedChange={setRemoved} />
        {editable && (
          <Button type='submit' busy={busy}>
            Save {settings.environment}
          </Button>
        )}
      </form>
    </Card>
  );
}
