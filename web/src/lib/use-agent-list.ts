// The organization's agents, kept fresh while the page is visible, with the admin actions that change
// one (disable or enable, remove) applied to the list in place.
import { useEffect } from 'preact/hooks';
import { api, errorMessage } from './api';
import { toast } from './toast';
import type { Agent } from './types';
import { useApi } from './use-api';

/** Online state changes without an event to push it, so the list refreshes on a timer while shown. */
const REFRESH_MS = 15_000;

export function useAgentList() {
  const agents = useApi<Agent[]>('/api/agents');

  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void agents.reload();
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [agents.reload]);

  const setDisabled = async (a: Agent, disabled: boolean) => {
    try {
      const updated = await api<Agent>(`/api/agents/${encodeURIComponent(a.id)}`, { method: 'PATCH', body: { disabled } });
      agents.setData((cur) => cur?.map((x) => (x.id === a.id ? updated : x)));
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  const remove = async (a: Agent) => {
    if (!confirm(`Remove agent ${a.name}? It will need a new registration token to come back.`)) return;
    try {
      await api(`/api/agents/${encodeURIComponent(a.id)}`, { method: 'DELETE' });
      agents.setData((cur) => cur?.filter((x) => x.id !== a.id));
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return { agents, setDisabled, remove };
}
