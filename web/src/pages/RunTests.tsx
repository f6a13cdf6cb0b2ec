// Queue a run: a project, an environment, and optionally a command, specific tests and agent labels.
import { Button, Card, Notice, PageHeader } from '../components/ui';
import { can } from '../lib/permissions';
import { Link, useLocation } from '../lib/router';
import { useUser } from '../lib/session';
import { useRunForm } from '../lib/use-run-form';
import { EnvironmentField } from './run-tests/EnvironmentField';
import { ProjectField } from './run-tests/ProjectField';
import { RunOptionsFields } from './run-tests/RunOptionsFields';

export function RunTestsPage() {
  const { role } = useUser();
  const { search } = useLocation();
  const form = useRunForm(search);
  const { projects, project } = form;

  if (!can(role, 'runTests')) return <Notice>Your role cannot start runs. Ask an admin for developer access.</Notice>;
  if (projects.data && !projects.data.length) {
    return (
      <Notice kind='info'>
        Create a project first:{' '}
        <Link href='/projects' class='underline'>
          Projects
        </Link>
        .
      </Notice>
    );
  }

  return (
    <div class='max-w-2xl'>
      <PageHeader title='Run tests' subtitle='Queue a run for your agents.' />
      <Card>
        <form onSubmit={form.submit} class='space-y-4'>
          {form.error && <Notice>{form.error}</Notice>}
          {projects.error && <Notice>{projects.error}</Notice>}
          <ProjectField projects={projects.data} value={form.projectId} project={project} onChange={form.chooseProject} />
          <EnvironmentField value={form.environment} environments={form.environments} onFocus={form.touchEnvironment} onInput={form.typeEnvironment} />
          <RunOptionsFields commandPlaceholder={project?.command ?? 'npx playwright test'} />
          <Button type='submit' busy={form.busy} disabled={!project}>
            Queue run
          </Button>
        </form>
      </Card>
    </div>
  );
}
