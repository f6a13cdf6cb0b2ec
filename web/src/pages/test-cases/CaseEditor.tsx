// Create or edit one test case. "Generate steps with AI" asks Gemini for steps from the title and
// description; they land in the steps editor for the user to accept or change before saving.
import { useState } from 'preact/hooks';
import { Button, Card, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { toast } from '../../lib/toast';
import { StepsEditor } from '../automation/StepsEditor';
import type { Step, TestCase } from '../automation/types';
import { CaseFields } from './CaseFields';
import { type Draft, draftBody, emptyDraft, toDraft } from './draft';

export function CaseEditor({ projectId, existing, onSaved, onCancel }: { projectId: string; existing?: TestCase; onSaved: () => void; onCancel: () => void }) {
  const [d, setD] = useState<Draft>(existing ? toDraft(existing) : emptyDraft());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [generating, setGenerating] = useState(false);
  const set = (patch: Partial<Draft>) => setD((cur) => ({ ...cur, ...patch }));

  const generate = async () => {
    if (!d.title.trim()) {
      setError('Write a title first: the AI proposes steps from the title and description');
      return;
    }
    setGenerating(true);
    setError(null);
    try {
      const r = await api<{ steps: Step[]; preconditions: string | null }>('/api/test-cases/generate-steps', {
        method: 'POST',
        body: { title: d.title.trim(), description: d.description?.trim() || undefined, projectId },
      });
      // Proposed preconditions fill the field only when it is empty: what the user wrote stays.
      set({ steps: r.steps, ...(r.preconditions && !d.preconditions?.trim() ? { preconditions: r.preconditions } : {}) });
      toast(`AI proposed ${r.steps.length} steps: review and edit them, then save`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setGenerating(false);
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    const body = draftBody(d);
    setBusy(true);
    setError(null);
    try {
      if (existing) await api(`/api/test-cases/${encodeURIComponent(existing.id)}`, { method: 'PATCH', body });
      else await api('/api/test-cases', { method: 'POST', body: { ...body, projectId } });
      toast(`Test case ${body.title} saved`);
      onSaved();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title={existing ? `Edit: ${existing.title}` : 'New test case'}>
      <form onSubmit={save} class='space-y-4' aria-label='Test case'>
        {error && <Notice>{error}</Notice>}
        <CaseFields d={d} set={set} />
        <div>
          <div class='mb-2 flex flex-wrap items-center justify-between gap-2'>
            <h3 class='text-sm font-medium'>Steps</h3>
            <Button variant='secondary' busy={generating} onClick={generate}>
              Generate steps with AI
            </Button>
          </div>
          <StepsEditor steps={d.steps} onChange={(steps) => set({ steps })} />
        </div>
        <div class='flex gap-2'>
          <Button type='submit' busy={busy}>
            Save test case
          </Button>
          <Button variant='ghost' onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}
