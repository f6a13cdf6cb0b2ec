// Test cycles: the list (external CI cycles included) and a new cycle built from a project's cases.
import { useState } from 'preact/hooks';
import { Badge, Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { ago } from '../../lib/format';
import { can } from '../../lib/permissions';
import { Link, navigate } from '../../lib/router';
import { useUser } from '../../lib/session';
import type { Project } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { CycleSummaryBar } from './CycleSummaryBar';
import { ProjectSelect } from './ProjectSelect';
import type { Cycle, TestCase } from './types';

export const CYCLE_STATUS_STYLE: Record<Cycle['status'], string> = {
  PENDING: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  RUNNING: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
  COMPLETED: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200',
};

function NewCycle({ projects, onCancel }: { projects: Project[]; onCancel: () => void }) {
  const [projectId, setProjectId] = useState(projects[0]?.id ?? '');
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const cases = useApi<TestCase[]>(projectId ? `/api/test-cases?projectId=${encodeURIComponent(projectId)}` : null);

  const toggle = (id: string) =>
    setChosen((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const create = async (e: Event) => {
    e.preventDefault();
    const items = (cases.data ?? []).filter((c) => chosen.has(c.id)).map((c) => ({ testCaseId: c.id }));
    if (!items.length) {
      setError('Choose at least one test case');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const cycle = await api<Cycle>('/api/test-cycles', { method: 'POST', body: { projectId, name: name.trim(), items } });
      navigate(`/test-cycles/${encodeURIComponent(cycle.id)}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Card title='New cycle'>
      <form onSubmit={create} class='space-y-4' aria-label='New cycle'>
        {error && <Notice>{error}</Notice>}
        <div class='grid gap-4 sm:grid-cols-2'>
          <Field label='Name'>
            <input
              required
              maxLength={200}
              class={inputClass}
              value={name}
              onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
              placeholder='Release 2.3 regression'
            />
          </Field>
          <ProjectSelect
            projects={projects}
            value={projectId}
            onChange={(id) => {
              setProjectId(id);
              setChosen(new Set());
            }}
          />
        </div>
        <fieldset>
          <legend class='mb-2 text-sm font-medium'>Test cases</legend>
          {cases.loading && !cases.data ? (
            <Spinner />
          ) : !cases.data?.length ? (
            <p class='text-sm text-slate-500'>This project has no test cases yet.</p>
          ) : (
            <ul class='max-h-72 space-y-1 overflow-auto'>
              {cases.data.map((c) => (
                <li key={c.id}>
                  <label class='flex items-center gap-2 text-sm'>
                    <input type='checkbox' checked={chosen.has(c.id)} onChange={() => toggle(c.id)} />
                    <span>{c.title}</span>
                    <Badge class='bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300'>{c.type}</Badge>
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        <div class='flex gap-2'>
          <Button type='submit' busy={busy}>
            Create cycle
          </Button>
          <Button variant='ghost' onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}

export function CyclesPage() {
  const { role } = useUser();
  const editable = can(role, 'editProjects');
  const projects = useApi<Project[]>('/api/projects');
  const cycles = useApi<Cycle[]>('/api/test-cycles');
  const [creating, setCreating] = useState(false);

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Test cycles'
        subtitle='Manual and automated items together; external CI runs appear here too.'
        actions={editable && !creating && projects.data?.length ? <Button onClick={() => setCreating(true)}>New cycle</Button> : null}
      />
      {creating && projects.data && <NewCycle projects={projects.data} onCancel={() => setCreating(false)} />}
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        {cycles.error && (
          <div class='p-3'>
            <Notice>{cycles.error}</Notice>
          </div>
        )}
        {cycles.loading && !cycles.data ? (
          <Spinner />
        ) : !cycles.data?.length ? (
          <Empty>No cycles yet.</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='cycles'>
            {cycles.data.map((c) => (
              <li key={c.id} class='flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3'>
                <Link href={`/test-cycles/${encodeURIComponent(c.id)}`} class='min-w-0 flex-1 truncate font-medium hover:underline'>
                  {c.name}
                </Link>
                {c.source === 'external-ci' && <Badge class='bg-violet-100 text-violet-800 dark:bg-violet-900 dark:text-violet-200'>external CI</Badge>}
                <Badge class={CYCLE_STATUS_STYLE[c.status]}>{c.status}</Badge>
                <CycleSummaryBar summary={c.summary} />
                <span class='text-xs text-slate-500'>{ago(c.createdAt)}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
