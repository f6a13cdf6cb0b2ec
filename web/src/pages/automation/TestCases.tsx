// Test cases per project: search and filter by suite and tag, create and edit with a steps editor,
// and "Generate steps with AI": Gemini proposes steps from the title and description, which land in
// the editor for the user to accept or change before saving.
import { useEffect, useState } from 'preact/hooks';
import { Badge, Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { can } from '../../lib/permissions';
import { navigate, useLocation } from '../../lib/router';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Project } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { ProjectSelect } from './ProjectSelect';
import { StepsEditor } from './StepsEditor';
import type { Priority, Step, TestCase } from './types';

const PRIORITY_STYLE: Record<Priority, string> = {
  low: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  medium: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
  high: 'bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200',
  critical: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
};

type Draft = Omit<TestCase, 'id' | 'projectId' | 'createdAt' | 'updatedAt' | 'tags'> & { tags: string };
const emptyDraft = (): Draft => ({
  title: '',
  suite: '',
  description: '',
  preconditions: '',
  steps: [],
  priority: 'medium',
  tags: '',
  type: 'manual',
  automatedTest: '',
});
const toDraft = (c: TestCase): Draft => ({
  ...c,
  suite: c.suite ?? '',
  description: c.description ?? '',
  preconditions: c.preconditions ?? '',
  automatedTest: c.automatedTest ?? '',
  tags: c.tags.join(', '),
});

function CaseEditor({ projectId, existing, onSaved, onCancel }: { projectId: string; existing?: TestCase; onSaved: () => void; onCancel: () => void }) {
  const [d, setD] = useState<Draft>(existing ? toDraft(existing) : emptyDraft());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [generating, setGenerating] = useState(false);
  const set = (patch: Partial<Draft>) => setD((cur) => ({ ...cur, ...patch }));
  const text = (k: keyof Draft) => (e: Event) => set({ [k]: (e.currentTarget as HTMLInputElement).value } as Partial<Draft>);

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
    const body = {
      title: d.title.trim(),
      suite: d.suite?.trim() || null,
      description: d.description?.trim() || null,
      preconditions: d.preconditions?.trim() || null,
      steps: d.steps.filter((s) => s.action.trim()),
      priority: d.priority,
      type: d.type,
      automatedTest: d.type === 'automated' ? d.automatedTest?.trim() || null : null,
      tags: d.tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    };
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
        <div class='grid gap-4 sm:grid-cols-2'>
          <Field label='Title' class='sm:col-span-2'>
            <input required maxLength={300} class={inputClass} value={d.title} onInput={text('title')} />
          </Field>
          <Field label='Description' class='sm:col-span-2'>
            <textarea rows={2} class={inputClass} value={d.description ?? ''} onInput={text('description')} />
          </Field>
          <Field label='Suite'>
            <input class={inputClass} value={d.suite ?? ''} onInput={text('suite')} placeholder='Checkout' />
          </Field>
          <Field label='Tags' hint='comma-separated'>
            <input class={inputClass} value={d.tags} onInput={text('tags')} placeholder='smoke, payments' />
          </Field>
          <Field label='Priority'>
            <select class={inputClass} value={d.priority} onChange={(e) => set({ priority: (e.currentTarget as HTMLSelectElement).value as Priority })}>
              {(['low', 'medium', 'high', 'critical'] as const).map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <Field label='Type'>
            <select class={inputClass} value={d.type} onChange={(e) => set({ type: (e.currentTarget as HTMLSelectElement).value as Draft['type'] })}>
              <option value='manual'>manual</option>
              <option value='automated'>automated</option>
            </select>
          </Field>
          {d.type === 'automated' && (
            <Field label='Automated test' hint='File, folder or test id the run selects' class='sm:col-span-2'>
              <input class={inputClass} value={d.automatedTest ?? ''} onInput={text('automatedTest')} placeholder='tests/checkout.spec.ts' />
            </Field>
          )}
          <Field label='Preconditions' class='sm:col-span-2'>
            <textarea rows={2} class={inputClass} value={d.preconditions ?? ''} onInput={text('preconditions')} />
          </Field>
        </div>
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

export function TestCasesPage() {
  const { role } = useUser();
  const editable = can(role, 'editProjects');
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const projects = useApi<Project[]>('/api/projects');
  const projectId = params.get('projectId') ?? projects.data?.[0]?.id ?? '';
  const [filters, setFilters] = useState({ q: '', suite: '', tag: '' });
  const [editing, setEditing] = useState<TestCase | 'new' | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const query = new URLSearchParams({ projectId, ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) }).toString();
  const cases = useApi<TestCase[]>(projectId ? `/api/test-cases?${query}` : null);
  const facets = useApi<{ suites: string[]; tags: string[] }>(projectId ? `/api/test-cases/facets?projectId=${encodeURIComponent(projectId)}` : null);
  useEffect(() => setEditing(null), [projectId]);

  const remove = async (c: TestCase) => {
    if (!confirm(`Delete the test case ${c.title}?`)) return;
    try {
      await api(`/api/test-cases/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      toast('Test case deleted');
      await cases.reload();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Test cases'
        subtitle='Manual and automated cases with their steps.'
        actions={editable && projectId && !editing ? <Button onClick={() => setEditing('new')}>New test case</Button> : null}
      />
      {projects.data && !projects.data.length && <Notice kind='info'>Create a project first; test cases belong to a project.</Notice>}
      {projects.data?.length ? (
        <div class='grid gap-3 sm:grid-cols-4'>
          <ProjectSelect projects={projects.data} value={projectId} onChange={(id) => navigate(`/test-cases?projectId=${encodeURIComponent(id)}`)} />
          <Field label='Search'>
            <input
              type='search'
              class={inputClass}
              value={filters.q}
              placeholder='Title or description'
              onInput={(e) => setFilters({ ...filters, q: (e.currentTarget as HTMLInputElement).value })}
            />
          </Field>
          <Field label='Suite'>
            <select class={inputClass} value={filters.suite} onChange={(e) => setFilters({ ...filters, suite: (e.currentTarget as HTMLSelectElement).value })}>
              <option value=''>All suites</option>
              {facets.data?.suites.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field label='Tag'>
            <select class={inputClass} value={filters.tag} onChange={(e) => setFilters({ ...filters, tag: (e.currentTarget as HTMLSelectElement).value })}>
              <option value=''>All tags</option>
              {facets.data?.tags.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </Field>
        </div>
      ) : null}
      {editing && projectId && (
        <CaseEditor
          key={editing === 'new' ? 'new' : editing.id}
          projectId={projectId}
          existing={editing === 'new' ? undefined : editing}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void cases.reload();
            void facets.reload();
          }}
        />
      )}
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        {cases.error && (
          <div class='p-3'>
            <Notice>{cases.error}</Notice>
          </div>
        )}
        {cases.loading && !cases.data ? (
          <Spinner />
        ) : !cases.data?.length ? (
          <Empty>No test cases match.</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='test-cases'>
            {cases.data.map((c) => (
              <li key={c.id} class='px-4 py-3'>
                <div class='flex flex-wrap items-center gap-2'>
                  <button
                    type='button'
                    class='min-w-0 flex-1 truncate text-left font-medium hover:underline'
                    aria-expanded={open === c.id}
                    onClick={() => setOpen(open === c.id ? null : c.id)}
                  >
                    {c.title}
                  </button>
                  {c.suite && <Badge class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>{c.suite}</Badge>}
                  <Badge class={PRIORITY_STYLE[c.priority]}>{c.priority}</Badge>
                  <Badge class='bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300'>{c.type}</Badge>
                  {c.tags.map((t) => (
                    <Badge key={t} class='bg-white text-slate-600 ring-1 ring-slate-200 dark:bg-slate-900 dark:text-slate-400 dark:ring-slate-700'>
                      #{t}
                    </Badge>
                  ))}
                  <span class='text-xs text-slate-500'>{c.steps.length} steps</span>
                  {editable && (
                    <Button variant='ghost' onClick={() => setEditing(c)}>
                      Edit
                    </Button>
                  )}
                  {editable && (
                    <Button variant='ghost' onClick={() => remove(c)} aria-label={`Delete ${c.title}`}>
                      Delete
                    </Button>
                  )}
                </div>
                {open === c.id && (
                  <div class='mt-2 space-y-2 text-sm'>
                    {c.description && <p class='text-slate-600 dark:text-slate-400'>{c.description}</p>}
                    {c.preconditions && (
                      <p>
                        <span class='font-medium'>Preconditions:</span> {c.preconditions}
                      </p>
                    )}
                    <ol class='list-decimal space-y-1 pl-5'>
                      {c.steps.map((s, i) => (
                        <li key={i}>
                          {s.action}
                          {s.expected && <span class='text-slate-500'> → {s.expected}</span>}
                        </li>
                      ))}
                    </ol>
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
