// One run: status and actions, the live terminal, per-test results, CI context, AI analysis and
// artifacts. The run's room socket streams log chunks, test results and status; on every reconnect
// it resumes from the last sequence number the log buffer holds.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AnalysisPanel } from '../components/AnalysisPanel';
import { CiContextPanel } from '../components/CiContextPanel';
import { FailureHistory } from '../components/FailureHistory';
import { SourceBadge } from '../components/SourceBadge';
import { StatusBadge } from '../components/StatusBadge';
import { isFinal } from '../../../worker/contracts/vocabulary';
import { Terminal } from '../components/Terminal';
import { TestResultsTable } from '../components/TestResultsTable';
import { Button, Card, Empty, Notice, PageHeader, Spinner } from '../components/ui';
import { api, errorMessage } from '../lib/api';
import { bytes, dateTime, duration, testsSummary } from '../lib/format';
import { openLive, type LiveState } from '../lib/live-socket';
import { LogBuffer, type LogChunk } from '../lib/log-buffer';
import { can } from '../lib/permissions';
import { Link, navigate } from '../lib/router';
import { useUser } from '../lib/session';
import { mergeResults } from '../lib/test-results';
import { toast } from '../lib/toast';
import type { Execution, ExecutionStatus, Project, RoomMessage, TestResult } from '../lib/types';
import { useApi } from '../lib/use-api';
import { useNow } from '../lib/use-now';

/** End reasons are machine codes (contracts/agent.ts EndReason); anything else is already a sentence. */
const REASONS: Record<string, string> = {
  cancel: 'Cancelled on request.', timeout: 'Stopped: the run passed its time limit.', agent_stop: 'The agent was stopped during the run.',
  agent_lost: 'The agent stopped answering; the run could not finish.', docker_error: 'Docker could not run the image.', refused: 'The agent refused this job.',
};

function reasonText(e: Execution): string | null {
  if (!e.reason) return null;
  if (e.reason === 'exit') return e.status === 'PASSED' || e.exitCode === null || e.exitCode === undefined ? null : `The test command exited with code ${e.exitCode}.`;
  return REASONS[e.reason] ?? e.reason;
}

type Artifact = { path: string; size: number; contentType: string; url: string };

/** Coalesces bursts of log frames into one render per animation frame. */
function useFrameVersion(): [number, () => void] {
  const [version, setVersion] = useState(0);
  const scheduled = useRef(false);
  const bump = () => {
    if (scheduled.current) return;
    scheduled.current = true;
    requestAnimationFrame(() => { scheduled.current = false; setVersion((v) => v + 1); });
  };
  return [version, bump];
}

export function ExecutionPage({ taskId }: { taskId: string }) {
  const { role } = useUser();
  const base = `/api/executions/${encodeURIComponent(taskId)}`;
  const exec = useApi<Execution>(base);
  const artifacts = useApi<Artifact[]>(`${base}/artifacts`);
  const projects = useApi<Project[]>('/api/projects');
  const [results, setResults] = useState<TestResult[]>([]);
  const [live, setLive] = useState<LiveState>('connecting');
  const [busy, setBusy] = useState<'cancel' | 'rerun' | null>(null);
  const buffer = useMemo(() => new LogBuffer(), [taskId]);
  const [version, bump] = useFrameVersion();
  const statusRef = useRef<ExecutionStatus | null>(null);
  const now = useNow(exec.data !== undefined && exec.data.startedAt !== null && !isFinal(exec.data.status));
  statusRef.current = exec.data?.status ?? statusRef.current;

  useEffect(() => {
    api<TestResult[]>(`${base}/tests`).then((r) => setResults((cur) => mergeResults(cur, r)), () => { /* shown live instead */ });
  }, [base]);

  useEffect(() => {
    let backfilling = false;
    const backfill = async () => {
      if (backfilling) return;
      backfilling = true;
      try {
        for (let guard = 0; guard < 100; guard++) {
          const from = buffer.lastSeq;
          const page = await api<{ chunks: LogChunk[]; lastSeq: number }>(`${base}/logs?since=${from}`);
          const r = buffer.push(page.chunks);
          bump();
          if (r.missingAfter === null || !page.chunks.length || buffer.lastSeq === from) break;
        }
      } catch { /* the next live frame retries */ } finally { backfilling = false; }
    };
    // A new status brings other fields with it (counts, end reason, the pending or finished analysis).
    const statusChanged = (status: ExecutionStatus) => {
      if (statusRef.current === status) return;
      statusRef.current = status;
      exec.setData((e) => (e ? { ...e, status } : e));
      void exec.reload();
      if (isFinal(status)) void artifacts.reload();
    };
    const socket = openLive<RoomMessage>({
      path: `${base}/live`,
      taskId,
      since: () => buffer.lastSeq,
      onState: setLive,
      // A room closes normally once the run is over and the log is complete: no reason to come back.
      shouldReconnect: (code) => !(code === 1000 && statusRef.current !== null && isFinal(statusRef.current)),
      onMessage: (m) => {
        if (m.type === 'log') {
          if (buffer.push(m.chunks).missingAfter !== null) void backfill();
          bump();
        } else if (m.type === 'hello') {
          if (m.status) statusChanged(m.status);
          if (m.lastSeq > buffer.lastSeq + 5000) void backfill();
        } else if (m.type === 'tests') {
          setResults((cur) => mergeResults(cur, m.results));
        } else if (m.type === 'status') {
          statusChanged(m.status);
        } else if (m.type === 'truncated') {
          buffer.note(`[agnox] the stored log reached its size limit at chunk ${m.atSeq}; later output was dropped`);
          bump();
        }
      },
    });
    return () => socket.close();
  }, [base, taskId, buffer]);

  if (exec.error && !exec.data) {
    return <div class="space-y-3"><Notice>{exec.error}</Notice><Link href="/executions" class="text-sm underline">Back to executions</Link></div>;
  }
  const e = exec.data;
  if (!e) return <Spinner />;

  const project = projects.data?.find((p) => p.id === e.projectId);
  const active = !isFinal(e.status);

  const cancel = async () => {
    setBusy('cancel');
    try {
      await api(`${base}/cancel`, { method: 'POST' });
      toast('Cancel requested');
      void exec.reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
    setBusy(null);
  };

  const rerun = async () => {
    setBusy('rerun');
    try {
      // The same request again: what the run was asked to do, as the detail endpoint reports it.
      const body: Record<string, unknown> = { projectId: e.projectId };
      if (e.environment) body.environment = e.environment;
      if (e.command) body.command = e.command;
      if (e.tests?.length) body.tests = e.tests;
      if (e.labels && Object.keys(e.labels).length) body.labels = e.labels;
      if (e.image && e.image !== 'external-ci') body.image = e.image;
      if (e.baseUrl) body.baseUrl = e.baseUrl;
      if (e.envVars && Object.keys(e.envVars).length) body.envVars = e.envVars;
      if (e.timeoutSeconds) body.timeoutSeconds = e.timeoutSeconds;
      if (e.queue === 'hosted') body.queue = 'hosted';
      const { taskId: next } = await api<{ taskId: string }>('/api/execution-request', { method: 'POST', body });
      toast('Run queued');
      navigate(`/executions/${encodeURIComponent(next)}`);
    } catch (err) { toast(errorMessage(err), 'error'); }
    setBusy(null);
  };

  const canRun = can(role, 'runTests') && e.source !== 'external-ci';
  const report = artifacts.data?.find((a) => /(^|\/)index\.html$/.test(a.path));

  return (
    <div class="space-y-4">
      <PageHeader
        title={<span class="flex flex-wrap items-center gap-2"><StatusBadge status={e.status} /> {project?.name ?? 'Run'} <SourceBadge source={e.source} ciContext={e.ciContext} /></span>}
        subtitle={<>{e.ingestMeta?.runName && <span class="mr-2">{e.ingestMeta.runName}</span>}<span class="font-mono text-xs">{e.taskId}</span></>}
        actions={<>
          <Link href="/executions" class="self-center text-sm text-slate-600 underline dark:text-slate-400">All executions</Link>
          {active && can(role, 'cancelRuns') && <Button variant="danger" busy={busy === 'cancel'} onClick={cancel}>Cancel run</Button>}
          {canRun && <Button variant="secondary" busy={busy === 'rerun'} onClick={rerun}>Re-run</Button>}
        </>}
      />

      <dl class="grid grid-cols-2 gap-3 text-sm sm:grid-cols-3 lg:grid-cols-6">
        {([
          ['Environment', e.environment ?? '—'],
          ['Trigger', e.trigger],
          ['Queued', dateTime(e.createdAt)],
          ['Duration', duration(e.durationMs ?? (e.startedAt ? (e.finishedAt ?? now) - e.startedAt : null))],
          ['Tests', testsSummary(e)],
          ['Image', e.image],
        ] as const).map(([k, v]) => (
          <div key={k} class="min-w-0 rounded-md bg-white p-2 ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800">
            <dt class="text-xs text-slate-500 dark:text-slate-400">{k}</dt>
            <dd class="truncate" title={String(v)}>{v}</dd>
          </div>
        ))}
      </dl>
      {reasonText(e) && <Notice kind={e.status === 'PASSED' || e.status === 'CANCELLED' ? 'info' : 'error'}>{reasonText(e)}</Notice>}

      {e.source === 'external-ci' && <Card><CiContextPanel execution={e} /></Card>}
      {e.analysis && e.analysis.code !== 'NOT_CONFIGURED' && e.analysis.code !== 'NO_FAILURES' && <Card title="AI analysis"><AnalysisPanel analysis={e.analysis} /></Card>}
      {(e.failed > 0 || e.status === 'FAILED') && isFinal(e.status) && <FailureHistory taskId={e.taskId} status={e.status} />}

      <Terminal buffer={buffer} version={version} live={live === 'open'} emptyText={active ? 'Waiting for output…' : 'This run produced no log output.'} />
      {live === 'reconnecting' && active && <p class="text-xs text-amber-600" role="status">Connection lost; reconnecting and resuming the log…</p>}

      <Card title="Tests"><TestResultsTable results={results} taskId={e.taskId} /></Card>

      <Card title="Artifacts" actions={report && <a class="text-sm text-indigo-600 underline dark:text-indigo-400" href={report.url} target="_blank" rel="noopener">Open HTML report ↗</a>}>
        {artifacts.error ? <Notice>{artifacts.error}</Notice> : !artifacts.data?.length ? <Empty>{active ? 'Artifacts appear when the run ends.' : 'No artifacts.'}</Empty> : (
          <ul class="divide-y divide-slate-200 text-sm dark:divide-slate-800">
            {artifacts.data.map((a) => (
              <li key={a.path} class="flex items-center justify-between gap-3 py-1.5">
                <a class="min-w-0 truncate text-indigo-600 underline dark:text-indigo-400" href={a.url} target="_blank" rel="noopener">{a.path}</a>
                <span class="shrink-0 text-xs text-slate-500">{bytes(a.size)}</span>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
