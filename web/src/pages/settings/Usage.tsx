// The plan's limits next to what the organization uses.
import { Card, Spinner } from '../../components/ui';
import { useUser } from '../../lib/session';
import type { Agent, ExecutionSummary, User } from '../../lib/types';
import { useApi } from '../../lib/use-api';

function Meter({ label, used, limit }: { label: string; used: number | undefined; limit: number }) {
  const pct = used === undefined ? 0 : Math.min(100, Math.round((used / Math.max(1, limit)) * 100));
  return (
    <div>
      <div class="mb-1 flex justify-between text-sm"><span>{label}</span><span class="tabular-nums">{used ?? '…'} / {limit}</span></div>
      <div class="h-2 overflow-hidden rounded bg-slate-200 dark:bg-slate-800" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={limit} aria-valuenow={used ?? 0}>
        <div class={`h-full ${pct > 90 ? 'bg-red-500' : 'bg-indigo-500'}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function UsageTab() {
  const { organization } = useUser();
  const members = useApi<User[]>('/api/users');
  const agents = useApi<Agent[]>('/api/agents');
  const running = useApi<{ items: ExecutionSummary[] }>('/api/executions?status=RUNNING,PENDING&limit=200');
  const limits = organization.limits;
  if (!limits) return <Spinner />;
  return (
    <Card title={`Plan: ${organization.plan}`}>
      <div class="max-w-xl space-y-4">
        <Meter label="Members" used={members.data?.length} limit={limits.maxMembers} />
        <Meter label="Runs queued or running now" used={running.data?.items.length} limit={limits.maxConcurrentRuns} />
        <p class="text-sm text-slate-600 dark:text-slate-400">Up to {limits.runsPerMonth} runs a month · results kept {limits.retentionDays} days · {agents.data ? `${agents.data.length} ${agents.data.length === 1 ? 'agent' : 'agents'} registered` : '…'}.</p>
      </div>
    </Card>
  );
}
