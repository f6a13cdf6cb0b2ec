// The plan's limits next to what the organization uses this billing period (/api/usage).
import { Card, Notice, Spinner } from '../../components/ui';
import { dateTime } from '../../lib/format';
import type { Agent } from '../../lib/types';
import { useApi } from '../../lib/use-api';

type Usage = {
  plan: string;
  limits: { maxMembers: number; maxConcurrentRuns: number; runsPerMonth: number; retentionDays: number };
  period: { start: number; end: number };
  usage: { runsThisPeriod: number; concurrentRuns: number; selfHostedActiveRuns: number; members: number };
};

function Meter({ label, used, limit }: { label: string; used: number; limit: number }) {
  const pct = Math.min(100, Math.round((used / Math.max(1, limit)) * 100));
  return (
    <div>
      <div class='mb-1 flex justify-between text-sm'>
        <span>{label}</span>
        <span class='tabular-nums'>
          {used} / {limit}
        </span>
      </div>
      <div
        class='h-2 overflow-hidden rounded bg-slate-200 dark:bg-slate-800'
        role='meter'
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={used}
      >
        <div class={`h-full ${pct > 90 ? 'bg-red-500' : 'bg-indigo-500'}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

export function UsageTab() {
  const usage = useApi<Usage>('/api/usage');
  const agents = useApi<Agent[]>('/api/agents');
  if (usage.error) return <Notice>{usage.error}</Notice>;
  const u = usage.data;
  if (!u) return <Spinner />;
  return (
    <Card title={`Plan: ${u.plan}`}>
      <div class='max-w-xl space-y-4' data-testid='usage'>
        <Meter label='Runs this period' used={u.usage.runsThisPeriod} limit={u.limits.runsPerMonth} />
        <Meter label='Hosted runs at once' used={u.usage.concurrentRuns} limit={u.limits.maxConcurrentRuns} />
        <Meter label='Members' used={u.usage.members} limit={u.limits.maxMembers} />
        <p class='text-sm text-slate-600 dark:text-slate-400'>
          Period {dateTime(u.period.start)} – {dateTime(u.period.end)} · {u.usage.selfHostedActiveRuns} runs active on your own agents ·{' '}
          {agents.data ? `${agents.data.length} ${agents.data.length === 1 ? 'agent' : 'agents'} registered` : '…'} · results kept {u.limits.retentionDays}{' '}
          days.
        </p>
      </div>
    </Card>
  );
}
