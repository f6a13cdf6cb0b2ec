// Agents: who is online, their labels, architecture and current jobs. Admins create a registration
// token (shown once, with the one-line install command) and disable or remove agents.
import { useEffect, useState } from 'preact/hooks';
import { CopyButton } from '../components/CopyButton';
import { Badge, Button, Card, Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { ago, dateTime } from '../lib/format';
import { can } from '../lib/permissions';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Agent } from '../lib/types';
import { useApi } from '../lib/use-api';

type Registration = { token: string; expiresAt: number; installCommand?: string; runCommand?: string };

/** Online state changes without an event to push it, so the list refreshes on a timer while shown. */
const REFRESH_MS = 15_000;

export function AgentsPage() {
  const { role } = useUser();
  const agents = useApi<Agent[]>('/api/agents');
  const [registration, setRegistration] = useState<Registration | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = can(role, 'manageAgents');

  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') void agents.reload();
    }, REFRESH_MS);
    return () => clearInterval(t);
  }, [agents.reload]);

  const createToken = async () => {
    setBusy(true);
    try {
      setRegistration(await api<Registration>('/api/agents/registration-tokens', { method: 'POST', body: {} }));
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBusy(false);
  };

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
      {registration && (
        <Card
          title='Install an agent'
          actions={
            <Button variant='ghost' onClick={() => setRegistration(null)}>
              Done
            </Button>
          }
        >
          <div class='space-y-3 text-sm'>
            <Notice kind='info'>This registration token is shown once and expires {dateTime(registration.expiresAt)}.</Notice>
            {[
              ['On a Linux box with Docker (installs a service; it asks for the token below)', registration.installCommand],
              ['Or run it in the foreground', registration.runCommand],
              ['Token', registration.token],
            ]
              .filter((x): x is [string, string] => Boolean(x[1]))
              .map(([label, value]) => (
                <div key={label}>
                  <p class='mb-1 font-medium'>{label}</p>
                  <div class='flex items-start gap-2'>
                    <code
                      class='min-w-0 flex-1 overflow-x-auto rounded bg-slate-100 px-2 py-1.5 text-xs whitespace-pre dark:bg-slate-800'
                      data-testid='install-command'
                    >
                      {value}
                    </code>
                    <CopyButton value={value} />
                  </div>
                </div>
              ))}
          </div>
        </Card>
      )}
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
              <li key={a.id} class='flex flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3'>
                <span class='flex w-40 items-center gap-2 font-medium'>
                  <span class={`size-2.5 rounded-full ${a.disabled ? 'bg-slate-400' : a.online ? 'bg-emerald-500' : 'bg-red-500'}`} aria-hidden='true' />
                  <span class='truncate'>{a.name}</span>
                </span>
                <span class='w-20 text-sm'>{a.disabled ? 'disabled' : a.online ? 'online' : 'offline'}</span>
                <span class='w-28 text-xs text-slate-500'>
                  {[a.arch, a.os].filter(Boolean).join(' / ') || '—'}
                  {a.version ? ` · v${a.version}` : ''}
                </span>
                <span class='flex min-w-0 flex-1 flex-wrap gap-1'>
                  {Object.entries(a.labels ?? {}).map(([k, v]) => (
                    <Badge key={k} class='bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300'>
                      {k}={v}
                    </Badge>
                  ))}
                </span>
                <span class='text-xs text-slate-500'>
                  {a.runningJobs}/{a.concurrency} jobs · seen {ago(a.lastSeenAt)}
                </span>
                {admin && (
                  <span class='flex gap-2'>
                    <Button variant='secondary' onClick={() => setDisabled(a, !a.disabled)}>
                      {a.disabled ? 'Enable' : 'Disable'}
                    </Button>
                    <Button variant='ghost' onClick={() => remove(a)}>
                      Remove
                    </Button>
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
