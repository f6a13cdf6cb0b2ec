// Insights for one project (no model needed): pass rate and duration p50/p95 per day as charts, the
// slowest, most failing and flaky tests, and the project's quarantines by owner and expiry. Members
// who may edit projects can quarantine a flaky test from here.
import { useState } from 'preact/hooks';
import { LineChart } from '../components/LineChart';
import { Badge, Button, Card, Empty, Field, inputClass, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { dateTime, duration } from '../lib/format';
import { formValues } from '../lib/form';
import { can } from '../lib/permissions';
import { Link, navigate } from '../lib/router';
import { useUser } from '../lib/session';
import { toast } from '../lib/toast';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';

type DayPoint = { day: string; runs: number; passed: number; failed: number; passRate: number | null; p50Ms: number | null; p95Ms: number | null };
type TestStat = { testKey: string; title: string; file: string | null; runs: number; failures: number; avgMs: number; maxMs: number; lastFailedAt: number | null };
type FlakyTest = { testKey: string; title: string; file: string | null; runs: number; retriedPasses: number; flips: number; sameCommitFlips: number; score: number };
type ProjectInsights = { totals: DayPoint; series: DayPoint[]; slowestTests: TestStat[]; mostFailing: TestStat[]; flaky: FlakyTest[] };
type Quarantine = { id: string; testKey: string; title: string; owner: string; reason: string; expiresAt: number; expired: boolean };
type AiStatus = { enabled: boolean; message?: string; model?: string };

const WINDOWS = [7, 30, 90];
const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

export function InsightsPage({ projectId }: { projectId?: string }) {
  const projects = useApi<Project[]>('/api/projects');
  const first = projects.data?.[0]?.id;
  if (projects.error) return <Notice>{projects.error}</Notice>;
  if (!projects.data) return <Spinner />;
  if (!projects.data.length) return <><PageHeader title="Insights" /><Empty>Create a project and run it to see insights.</Empty></>;
  const id = projectId ?? first!;
  return <ProjectInsightsView key={id} projectId={id} projects={projects.data} />;
}

function ProjectInsightsView({ projectId, projects }: { projectId: string; projects: Project[] }) {
  const { role } = useUser();
  const [days, setDays] = useState(30);
  const insights = useApi<ProjectInsights>(`/api/insights/projects/${encodeURIComponent(projectId)}?days=${days}`);
  const quarantines = useApi<Quarantine[]>(`/api/quarantines?projectId=${encodeURIComponent(projectId)}`);
  const ai = useApi<AiStatus>('/api/insights/ai-status');
  const [quarantining, setQuarantining] = useState<FlakyTest | null>(null);
  const editable = can(role, 'editProjects');
  const d = insights.data;

  const quarantine = async (e: Event) => {
    const v = formValues(e);
    const t = quarantining!;
    try {
      await api('/api/quarantines', {
        method: 'POST',
        body: { projectId, title: t.title, ...(t.file ? { file: t.file } : {}), owner: v.owner, reason: v.reason, expiresAt: Date.now() + Number(v.days) * 86_400_000 },
      });
      toast('Test quarantined');
      setQuarantining(null);
      void quarantines.reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };

  const end = async (q: Quarantine) => {
    try {
      await api(`/api/quarantines/${q.id}`, { method: 'DELETE' });
      toast('Quarantine ended');
      void quarantines.reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };

  return (
    <div class="space-y-4">
      <PageHeader title="Insights" subtitle="Pass rate, durations, failing and flaky tests, from this project's runs." actions={
        <div class="flex flex-wrap gap-2">
          <select aria-label="Project" class={inputClass} value={projectId} onChange={(e) => navigate(`/insights/${(e.currentTarget as HTMLSelectElement).value}`)}>
            {projects.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
          <select aria-label="Window" class={inputClass} value={days} onChange={(e) => setDays(Number((e.currentTarget as HTMLSelectElement).value))}>
            {WINDOWS.map((w) => <option key={w} value={w}>Last {w} days</option>)}
          </select>
        </div>
      } />
      {ai.data && !ai.data.enabled && <Notice kind="info">{ai.data.message}</Notice>}
      {insights.error && <Notice>{insights.error}</Notice>}
      {!d ? !insights.error && <Spinner /> : (
        <>
          <dl class="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4" data-testid="insight-totals">
            {([['Runs', String(d.totals.runs)], ['Pass rate', pct(d.totals.passRate)], ['Duration p50', duration(d.totals.p50Ms)], ['Duration p95', duration(d.totals.p95Ms)]] as const).map(([k, v]) => (
              <div key={k} class="rounded-md bg-white p-2 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
                <dt class="text-xs text-slate-500 dark:text-slate-400">{k}</dt><dd class="text-lg font-semibold">{v}</dd>
              </div>
            ))}
          </dl>
          <div class="grid gap-4 lg:grid-cols-2">
            <Card><LineChart title="Pass rate" labels={d.series.map((p) => p.day)} series={[{ label: 'pass rate', values: d.series.map((p) => p.passRate), color: '#16a34a' }]} format={(v) => `${Math.round(v * 100)}%`} /></Card>
            <Card><LineChart title="Duration" labels={d.series.map((p) => p.day)} format={(v) => duration(v)} series={[
              { label: 'p50', values: d.series.map((p) => p.p50Ms), color: '#4f46e5' },
              { label: 'p95', values: d.series.map((p) => p.p95Ms), color: '#f59e0b' },
            ]} /></Card>
          </div>
          <div class="grid gap-4 lg:grid-cols-2">
            <Card title="Slowest tests">
              {!d.slowestTests.length ? <Empty>No test results yet.</Empty> : (
                <table class="w-full text-sm" data-testid="slowest-tests"><tbody>
                  {d.slowestTests.map((t) => <tr key={t.testKey} class="border-t border-slate-100 dark:border-slate-800"><td class="py-1 pr-2 break-all">{t.testKey}</td><td class="py-1 text-right whitespace-nowrap">{duration(t.avgMs)} avg</td></tr>)}
                </tbody></table>
              )}
            </Card>
            <Card title="Most failing tests">
              {!d.mostFailing.length ? <Empty>No failures in this window.</Empty> : (
                <table class="w-full text-sm" data-testid="most-failing"><tbody>
                  {d.mostFailing.map((t) => <tr key={t.testKey} class="border-t border-slate-100 dark:border-slate-800"><td class="py-1 pr-2 break-all">{t.testKey}</td><td class="py-1 text-right whitespace-nowrap">{t.failures} failure{t.failures === 1 ? '' : 's'} / {t.runs} runs</td></tr>)}
                </tbody></table>
              )}
            </Card>
          </div>
          <Card title="Flaky tests">
            {!d.flaky.length ? <Empty>No flaky tests: nothing failed and then passed on retry or flipped on the same commit.</Empty> : (
              <table class="w-full text-sm" data-testid="flaky-tests">
                <thead><tr class="text-left text-xs text-slate-500"><th class="py-1">Test</th><th>Score</th><th class="hidden sm:table-cell">Evidence</th><th /></tr></thead>
                <tbody>
                  {d.flaky.map((t) => {
                    const held = quarantines.data?.some((q) => q.testKey === t.testKey);
                    return (
                      <tr key={t.testKey} class="border-t border-slate-100 dark:border-slate-800">
                        <td class="py-1 pr-2 break-all">{t.testKey}</td>
                        <td><Badge class="bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200">{t.score.toFixed(2)}</Badge></td>
                        <td class="hidden text-xs text-slate-500 sm:table-cell">{t.retriedPasses} passed on retry · {t.flips} flips · {t.sameCommitFlips} same-commit · {t.runs} runs</td>
                        <td class="text-right">{held ? <span class="text-xs text-slate-500">quarantined</span> : editable && <Button variant="secondary" onClick={() => setQuarantining(t)}>Quarantine</Button>}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
            {quarantining && (
              <form class="mt-3 grid gap-2 rounded-md bg-slate-50 p-3 sm:grid-cols-4 dark:bg-slate-900" onSubmit={(e) => void quarantine(e)}>
                <p class="text-sm sm:col-span-4">Quarantine <strong>{quarantining.testKey}</strong>: it keeps running and reporting, but its failures stop failing runs.</p>
                <Field label="Owner"><input name="owner" required class={inputClass} /></Field>
                <Field label="Reason"><input name="reason" required class={inputClass} /></Field>
                <Field label="Days"><input name="days" type="number" min="1" max="180" value="14" required class={inputClass} /></Field>
                <div class="flex items-end gap-2"><Button type="submit">Quarantine</Button><Button variant="secondary" onClick={() => setQuarantining(null)}>Cancel</Button></div>
              </form>
            )}
          </Card>
        </>
      )}
      <Card title="Quarantined tests">
        {quarantines.error ? <Notice>{quarantines.error}</Notice> : !quarantines.data?.length ? <Empty>No test is quarantined.</Empty> : (
          <table class="w-full text-sm" data-testid="quarantines">
            <thead><tr class="text-left text-xs text-slate-500"><th class="py-1">Owner</th><th>Test</th><th class="hidden sm:table-cell">Reason</th><th>Expires</th><th /></tr></thead>
            <tbody>
              {quarantines.data.map((q) => (
                <tr key={q.id} class="border-t border-slate-100 dark:border-slate-800">
                  <td class="py-1 pr-2">{q.owner}</td><td class="pr-2 break-all">{q.testKey}</td>
                  <td class="hidden pr-2 sm:table-cell">{q.reason}</td><td class="whitespace-nowrap">{dateTime(q.expiresAt)}</td>
                  <td class="text-right">{editable && <Button variant="secondary" onClick={() => void end(q)}>End</Button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <p class="text-xs text-slate-500"><Link class="underline" href={`/projects/${projectId}`}>Project settings</Link></p>
    </div>
  );
}
