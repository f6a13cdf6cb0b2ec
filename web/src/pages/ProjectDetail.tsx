// One project: edit its definition and its run settings per environment.
import { Button, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { can } from '../lib/permissions';
import { Link, navigate } from '../lib/router';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Project, RunSettings } from '../lib/types';
import { useApi } from '../lib/use-api';
import { DefinitionCard } from './project/DefinitionCard';
import { RunSettingsSection } from './project/RunSettingsSection';

export function ProjectPage({ id }: { id: string }) {
  const { role } = useUser();
  const base = `/api/projects/${encodeURIComponent(id)}`;
  const project = useApi<Project>(base);
  const settings = useApi<RunSettings[]>(`${base}/run-settings`);
  const editable = can(role, 'editProjects');

  if (project.error) return <Notice>{project.error}</Notice>;
  const p = project.data;
  if (!p) return <Spinner />;

  const remove = async () => {
    if (!confirm(`Delete project ${p.name}? Its run history stays.`)) return;
    try {
      await api(base, { method: 'DELETE' });
      toast('Project deleted');
      navigate('/projects');
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <div class='space-y-4'>
      <PageHeader
        title={p.name}
        subtitle={
          <Link href='/projects' class='underline'>
            All projects
          </Link>
        }
        actions={
          <>
            {can(role, 'runTests') && (
              <Link
                href={`/run?projectId=${encodeURIComponent(p.id)}`}
                class='rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500'
              >
                Run tests
              </Link>
            )}
            {editable && (
              <Button variant='danger' onClick={remove}>
                Delete project
              </Button>
            )}
          </>
        }
      />
      <DefinitionCard project={p} path={base} editable={editable} onSaved={project.setData} />
      <RunSettingsSection projectId={p.id} settings={settings} editable={editable} />
    </div>
  );
}
