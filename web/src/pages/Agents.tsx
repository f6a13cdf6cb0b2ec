// Agents: who is online, their labels, architecture and current jobs. Admins create a registration
// token (shown once, with the one-line install command) and disable or remove agents.
import { useState } from 'preact/hooks';
import { Button, Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { can } from '../lib/permissions';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import { useAgentList } from '../lib/use-agent-list';
import { AgentRow } from './agents/AgentRow';
import { type Registration, RegistrationCard } from './agents/RegistrationCard';

export function AgentsPage() {
  const { role } = useUser();
  const { agents, setDisabled, remove } = useAgentList();
  const [registration, setRegistration] = useState<Registration | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = can(role, 'manageAgents');

  const createToken = async () => {
    setBusy(true);
    try {
      setRegistration(await api<Registration>('/api/agents/registration-tokens', { method: 'POST', body: {} }));
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBusy(false);
  };

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Agents'
        subtitle='Machines that take your runs and execute them in Docker.'
        actions={
          admin && (
            <Button busy={busy} onClick={createToken}>
              Add an agent
            </Button>
          )
        }
      />
      {registration && <RegistrationCard registration={registration} onDone={() => setRegistration(null)} />}
      <div class='overflow-hidden rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        {agents.error && (
          <div class='p-3'>
            <Notice>{agents.error}</Notice>
          </div>
        )}
        {agents.loading && !agents.data ? (
          <Spinner />
        ) : !agents.data?.length ? (
          <Empty>No agents yet.{admin ? ' Add one to start running tests.' : ''}</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='agents'>
            {agents.data.map((a) => (
              <AgentRow key={a.id} a={a} admin={admin} onSetDisabled={(disabled) => setDisabled(a, disabled)} onRemove={() => remove(a)} />
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
