// A project's run settings, one editor per environment. An environment added here is a draft (kept in
// this page only) until its first save creates it on the server.
import { useState } from 'preact/hooks';
import { RunSettingsEditor } from '../../components/RunSettingsEditor';
import { Button, Card, Empty, Field, inputClass, Notice } from '../../components/ui';
import { formValues } from '../../lib/form';
import { toast } from '../../lib/toast';
import type { RunSettings } from '../../lib/types';
import type { ApiResource } from '../../lib/use-api';

export function RunSettingsSection({ projectId, settings, editable }: { projectId: string; settings: ApiResource<RunSettings[]>; editable: boolean }) {
  const [draftEnvs, setDraftEnvs] = useState<string[]>([]);

  const addEnv = (e: Event) => {
    const { environment } = formValues(e);
    const name = environment?.trim();
    if (!name) return;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      toast('Environment names use letters, digits, ".", "_" and "-"', 'error');
      return;
    }
    if (settings.data?.some((s) => s.environment === name) || draftEnvs.includes(name)) return;
    setDraftEnvs([...draftEnvs, name]);
    (e.currentTarget as HTMLFormElement).reset();
  };

  const all: Array<{ s: RunSettings; isNew: boolean }> = [
    ...(settings.data ?? []).map((s) => ({ s, isNew: false })),
    ...draftEnvs.map((environment) => ({ s: { environment, baseUrl: null, variables: {}, secretVariables: {}, updatedAt: 0 }, isNew: true })),
  ];

  return (
    <>
      <div class='flex flex-wrap items-end justify-between gap-2'>
        <h2 class='text-lg font-semibold'>Run settings</h2>
        {editable && (
          <form onSubmit={addEnv} class='flex gap-2'>
            <Field label='Add environment' class='[&>span]:sr-only'>
              <input name='environment' placeholder='production' class={inputClass} />
            </Field>
            <Button type='submit' variant='secondary'>
              Add
            </Button>
          </form>
        )}
      </div>
      {settings.error && <Notice>{settings.error}</Notice>}
      {!all.length && !settings.loading && (
        <Card>
          <Empty>No environments yet{editable ? ': add one to give runs a base URL and variables.' : '.'}</Empty>
        </Card>
      )}
      <div class='grid gap-4 lg:grid-cols-2'>
        {all.map(({ s, isNew }) => (
          <RunSettingsEditor
            key={`${s.environment}-${s.updatedAt}`}
            projectId={projectId}
            settings={s}
            editable={editable}
            isNew={isNew}
            onSaved={(saved) => {
              setDraftEnvs((d) => d.filter((x) => x !== saved.environment));
              settings.setData((cur) => [...(cur ?? []).filter((x) => x.environment !== saved.environment), saved]);
            }}
            onDeleted={() => {
              setDraftEnvs((d) => d.filter((x) => x !== s.environment));
              settings.setData((cur) => (cur ?? []).filter((x) => x.environment !== s.environment));
            }}
          />
        ))}
      </div>
    </>
  );
}
