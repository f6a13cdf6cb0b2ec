// Insights for one project (no model needed): pass rate and duration p50/p95 per day as charts, the
// slowest, most failing and flaky tests, and the project's quarantines by owner and expiry. Members
// who may edit projects can quarantine a flaky test from here.
import { useState } from 'preact/hooks';
import { Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { can } from '../lib/permissions';
import { Link } from '../lib/router';
import { useUser } from '../lib/session';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';
import { FlakyTestsCard } from './insights/FlakyTestsCard';
import { InsightsControls } from './insights/InsightsControls';
import { QuarantinesCard } from './insights/QuarantinesCard';
import { TestRankingCards } from './insights/TestRankingCards';
import { TotalsGrid } from './insights/TotalsGrid';
import { TrendCharts } from './insights/TrendCharts';
import type { AiStatus, ProjectInsights, QuarantineEntry } from './insights/types';

export function InsightsPage({ projectId }: { projectId?: string }) {
  const projects = useApi<Project[]>('/api/projects');
  const first = projects.data?.[0]?.id;
  if (projects.error) return <Notice>{projects.error}</Notice>;
  if (!projects.data) return <Spinner />;
  if (!projects.data.length)
    return (
      <>
        <PageHeader title='Insights' />
        <Empty>Create a project and run it to see insights.</Empty>
      </>
    );
  const id = projectId ?? first!;
  return <ProjectInsightsView key={id} projectId={id} projects={projects.data} />;
}

function ProjectInsightsView({ projectId, projects }: { projectId: string; projects: Project[] }) {
  const { role } = useUser();
  const [days, setDays] = useState(30);
  const insights = useApi<ProjectInsights>(`/api/insights/projects/${encodeURIComponent(projectId)}?days=${days}`);
  const quarantines = useApi<QuarantineEntry[]>(`/api/quarantines?projectId=${encodeURIComponent(projectId)}`);
  const ai = useApi<AiStatus>('/api/insights/ai-status');
  const editable = can(role, 'editProjects');
  const d = insights.data;

  return (
    <div class='space-y-4'>
      <PageHeader
        title='Insights'
        subtitle="Pass rate, durations, failing and flaky tests, from this project's runs."
        actions={<InsightsControls projects={projects} projectId={projectId} days={days} onDays={setDays} />}
      />
      {ai.data && !ai.data.enabled && <Notice kind='info'>{ai.data.message}</Notice>}
      {insights.error && <Notice>{insights.error}</Notice>}
      {!d ? (
        !insights.error && <Spinner />
      ) : (
        <>
          <TotalsGrid totals={d.totals} />
          <TrendCharts series={d.series} />
          <TestRankingCards slowest={d.slowestTests} mostFailing={d.mostFailing} />
          <FlakyTestsCard
            projectId={projectId}
            flaky={d.flaky}
            quarantines={quarantines.data}
            editable={editable}
            onQuarantined={() => void quarantines.reload()}
          />
        </>
      )}
      <QuarantinesCard quarantines={quarantines} editable={editable} />
      <p class='text-xs text-slate-500'>
        <Link class='underline' href={`/projects/${projectId}`}>
          Project settings
        </Link>
      </p>
    </div>
  );
}
