// Test cases per project: search and filter by suite and tag, create and edit with a steps editor,
// and "Generate steps with AI": Gemini proposes steps from the title and description, which land in
// the editor for the user to accept or change before saving.
import { useEffect, useState } from 'preact/hooks';
import { Button, Notice, PageHeader } from '../../components/ui';
import { can } from '../../lib/permissions';
import { useLocation } from '../../lib/router';
import { useUser } from '../../lib/session';
import type { Project } from '../../lib/types';
import { useApi } from '../../lib/use-api';
import { CaseEditor } from '../test-cases/CaseEditor';
import { type CaseFacets, type CaseFilterValues, CaseFilters } from '../test-cases/CaseFilters';
import { CaseList } from '../test-cases/CaseList';
import type { TestCase } from './types';

export function TestCasesPage() {
  const { role } = useUser();
  const editable = can(role, 'editProjects');
  const { search } = useLocation();
  const params = new URLSearchParams(search);
  const projects = useApi<Project[]>('/api/projects');
  const projectId = params.get('projectId') ?? projects.data?.[0]?.id ?? '';
  const [filters, setFilters] = useState<CaseFilterValues>({ q: '', suite: '', tag: '' });
  const [editing, setEditing] = useState<TestCase | 'new' | null>(null);
  const query = new URLSearchParams({ projectId, ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) }).toString();
  const cases = useApi<TestCase[]>(projectId ? `/api/test-cases?${query}` : null);
  const facets = useApi<CaseFacets>(projectId ? `/api/test-cases/facets?projectId=${encodeURIComponent(projectId)}` : null);
  // An open editor belongs to the project it was opened in.
  useEffect(() => setEditing(null), [projectId]);

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Test cases'
        subtitle='Manual and automated cases with their steps.'
        actions={editable && projectId && !editing ? <Button onClick={() => setEditing('new')}>New test case</Button> : null}
      />
      {projects.data && !projects.data.length && <Notice kind='info'>Create a project first; test cases belong to a project.</Notice>}
      {projects.data?.length ? (
        <CaseFilters projects={projects.data} projectId={projectId} filters={filters} onChange={setFilters} facets={facets.data} />
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
      <CaseList cases={cases} editable={editable} onEdit={setEditing} />
    </div>
  );
}
