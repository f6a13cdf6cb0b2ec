// The run form's state: the chosen project and environment (with their defaults), the environments
// that project has run settings for, and the submission that queues the run and opens it.
import { useState } from 'preact/hooks';
import { api, errorMessage } from './api';
import { parseKeyValues } from './kv';
import { navigate } from './router';
import { toast } from './toast';
import type { Project, RunSettings } from './types';
import { useApi } from './use-api';

/** `search`: the page's query string; its ?projectId= preselects a project. */
export function useRunForm(search: string) {
  const projects = useApi<Project[]>('/api/projects');
  // What the person chose, per field. A field they have not touched shows its default (the URL's or
  // the first project; the project's default environment), derived on every render rather than
  // copied in when the projects arrive: that copy overwrote what had been typed meanwhile. Focusing the
  // environment field counts as touching it: a default arriving between the person selecting its text
  // and typing would otherwise move the caret and their text would be appended to it ("stagingqa").
  const [edited, setEdited] = useState<{ projectId?: string; environment?: string }>({});
  const edit = (field: keyof typeof edited, value: string) => setEdited((was) => ({ ...was, [field]: value }));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const projectId = edited.projectId ?? new URLSearchParams(search).get('projectId') ?? projects.data?.[0]?.id ?? '';
  const project = projects.data?.find((p) => p.id === projectId);
  const environment = edited.environment ?? project?.defaultEnvironment ?? '';
  const settings = useApi<RunSettings[]>(project ? `/api/projects/${project.id}/run-settings` : null);
  const environments = [...new Set([...(settings.data ?? []).map((s) => s.environment), project?.defaultEnvironment].filter(Boolean) as string[])];

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const command = String(form.get('command') ?? '').trim();
    const tests = String(form.get('tests') ?? '')
      .split('\n')
      .map((t) => t.trim())
      .filter(Boolean);
    const labels = parseKeyValues(String(form.get('labels') ?? ''));
    if (labels.errors.length) {
      setError(`Labels: ${labels.errors.join('; ')}`);
      return;
    }
    const body: Record<string, unknown> = { projectId, environment: environment.trim() || undefined };
    if (command) body.command = command;
    if (tests.length) body.tests = tests;
    if (Object.keys(labels.map).length) body.labels = labels.map;
    if (form.get('queue') === 'hosted') body.queue = 'hosted';
    setBusy(true);
    setError(null);
    try {
      const { taskId } = await api<{ taskId: string }>('/api/execution-request', { method: 'POST', body });
      toast('Run queued');
      navigate(`/executions/${encodeURIComponent(taskId)}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return {
    projects,
    projectId,
    project,
    environment,
    environments,
    error,
    busy,
    submit,
    chooseProject: (id: string) => edit('projectId', id),
    /** On focus: from here on the field holds what is in it now, whatever default arrives later. */
    touchEnvironment: () => edited.environment === undefined && edit('environment', environment),
    typeEnvironment: (value: string) => edit('environment', value),
  };
}
