// A project's definition (name, image, command, test folder, timeout): a form for members who may edit
// projects, a read-only list for the others.
import { useState } from 'preact/hooks';
import { Button, Card, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { toast } from '../../lib/toast';
import type { Project } from '../../lib/types';
import { projectBody, ProjectFields } from '../Projects';

/** `path`: the project's API resource, which a save PATCHes. */
export function DefinitionCard({ project: p, path, editable, onSaved }: { project: Project; path: string; editable: boolean; onSaved: (p: Project) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    const body = projectBody(formValues(e));
    setBusy(true);
    setError(null);
    try {
      onSaved(await api<Project>(path, { method: 'PATCH', body }));
      toast('Project saved');
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  return (
    <Card title='Definition'>
      {editable ? (
        <form onSubmit={save} class='space-y-4'>
          {error && <Notice>{error}</Notice>}
          {/* Keyed by the last save, so the fields start again from what the server now holds. */}
          <ProjectFields project={p} key={p.updatedAt} />
          <Button type='submit' busy={busy}>
            Save project
          </Button>
        </form>
      ) : (
        <dl class='grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm'>
          <dt class='text-slate-500'>Image</dt>
          <dd>
            <code>{p.image}</code>
          </dd>
          <dt class='text-slate-500'>Command</dt>
          <dd>
            <code>{p.command ?? '—'}</code>
          </dd>
          <dt class='text-slate-500'>Test folder</dt>
          <dd>{p.testFolder ?? '—'}</dd>
          <dt class='text-slate-500'>Timeout</dt>
          <dd>{Math.round(p.timeoutSeconds / 60)} min</dd>
        </dl>
      )}
    </Card>
  );
}
