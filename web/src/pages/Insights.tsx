// Insights for one project (no model needed): pass rate and duration p50/p95 per day as charts, the
// slowest, most failing and flaky tests, and the project's quarantines by owner and expiry. Members
// who may edit projects can quarantine a flaky test from here.
import { useState } from 'preact/hooks';
import { LineChart } from '../components/LineChart';
import { Card, Empty, inputClass, Notice, PageHeader, Spinner } from '../components/ui';
import { duration } from '../lib/format';
import { can } from '../lib/permissions';
import { Link, navigate } from '../lib/router';
import { useUser } from '../lib/session';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';
import { FlakyTestsCard } from './insights/FlakyTestsCard';
import { QuarantinesCard } from './insights/QuarantinesCard';
import type { AiStatus, ProjectInsights, QuarantineEntry } from './insights/types';

const WINDOWS = [7, 30, 90];
const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

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
        actions={
          <div class='flex flex-wrap gap-2'>
            <select
              aria-label='Project'
              class={inputClass}
              value={projectId}
              onChange={(e) => navigate(`/insights/${(e.currentTarget as HTMLSelectElement).value}`)}
            >
              {projects.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
            <select aria-label='Window' class={inputClass} value={days} onChange={(e) => setDays(Number((e.currentTarget as HTMLSelectElement).value))}>
              {WINDOWS.map((w) => (
                <option key={w} value={w}>
                  Last {w} days
                </option>
              ))}
            </select>
          </div>
        }
      />
      {ai.data && !ai.data.enabled && <Notice kind='info'>{ai.data.message}</Notice>}
      {insights.error && <Notice>{insights.error}</Notice>}
      {!d ? (
        !insights.error && <Spinner />
      ) : (
        <>
          <dl class='grid grid-cols-2 gap-2 text-sm sm:grid-cols-4' data-testid='insight-totals'>
            {(
              [
                ['Runs', String(d.totals.runs)],
                ['Pass rate', pct(d.totals.passRate)],
                ['Duration p50', duration(d.totals.p50Ms)],
                ['Duration p95', duration(d.totals.p95Ms)],
              ] as const
            ).map(([k, v]) => (
              <div key={k} class='rounded-md bg-white p-2 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
                <dt class='text-xs text-slate-500 dark:text-slate-400'>{k}</dt>
                <dd class='text-lg font-semibold'>{v}</dd>
              </div>
            ))}
          </dl>
          <div class='grid gap-4 lg:grid-cols-2'>
            <Card>
              <LineChart
                title='Pass rate'
                labels={d.series.map((p) => p.day)}
                series={[{ label: 'pass rate', values: d.series.map((p) => p.passRate), color: '#16a34a' }]}
                format={(v) => `${Math.round(v * 100)}%`}
              />
            </Card>
            <Card>
              <LineChart
                title='Duration'
                labels={d.series.map((p) => p.day)}
                format={(v) => duration(v)}
                series={[
                  { label: 'p50', values: d.series.map((p) => p.p50Ms), color: '#4f46e5' },
                  { label: 'p95', values: d.series.map((p) => p.p95Ms), color: '#f59e0b' },
                ]}
              />
            </Card>
          </div>
          <div class='grid gap-4 lg:grid-cols-2'>
            <Card title='Slowest tests'>
              {!d.slowestTests.length ? (
                <Empty>No test results yet.</Empty>
              ) : (
                <table class='w-full text-sm' data-testid='slowest-tests'>
                  <tbody>
                    {d.slowestTests.map((t) => (
                      <tr key={t.testKey} class='border-t border-slate-100 dark:border-slate-800'>
                        <td class='py-1 pr-2 break-all'>{t.testKey}</td>
                        <td class='py-1 text-right whitespace-nowrap'>{duration(t.avgMs)} avg</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
            <Card title='Most failing tests'>
              {!d.mostFailing.length ? (
                <Empty>No failures in this window.</Empty>
              ) : (
                <table class='w-full text-sm' data-testid='most-failing'>
                  <tbody>
                    {d.mostFailing.map((t) => (
                      <tr key={t.testKey} class='border-t border-slate-100 dark:border-slate-800'>
                        <td class='py-1 pr-2 break-all'>{t.testKey}</td>
                        <td class='py-1 text-right whitespace-nowrap'>
                          {t.failures} failure{t.failures === 1 ? '' : 's'} / {t.runs} runs
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Card>
          </div>
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
