// One run: status and actions, its facts and why it ended, CI context, AI analysis and failure history,
// the live terminal, per-test results and artifacts. useRunLive keeps all of it current.
import { isFinal } from '../../../worker/contracts/vocabulary';
import { AnalysisPanel } from '../components/AnalysisPanel';
import { CiContextPanel } from '../components/CiContextPanel';
import { FailureHistory } from '../components/FailureHistory';
import { SourceBadge } from '../components/SourceBadge';
import { StatusBadge } from '../components/StatusBadge';
import { Terminal } from '../components/Terminal';
import { TestResultsTable } from '../components/TestResultsTable';
import { Card, Notice, PageHeader, Spinner } from '../components/ui';
import { endReasonText } from '../lib/end-reason';
import { Link } from '../lib/router';
import type { Project } from '../lib/types';
import { useApi } from '../lib/use-api';
import { useNow } from '../lib/use-now';
import { useRunLive } from '../lib/use-run-live';
import { ArtifactsCard } from './executions/ArtifactsCard';
import { RunActions } from './executions/RunActions';
import { RunFacts } from './executions/RunFacts';

export function ExecutionPage({ taskId }: { taskId: string }) {
  const { execution, artifacts, results, log, logVersion, connection } = useRunLive(taskId);
  const projects = useApi<Project[]>('/api/projects');
  const e = execution.data;
  const now = useNow(e !== undefined && e.startedAt !== null && !isFinal(e.status));

  if (execution.error && !e) {
    return (
      <div class='space-y-3'>
        <Notice>{execution.error}</Notice>
        <Link href='/executions' class='text-sm underline'>
          Back to executions
        </Link>
      </div>
    );
  }
  if (!e) return <Spinner />;

  const project = projects.data?.find((p) => p.id === e.projectId);
  const active = !isFinal(e.status);
  const endReason = endReasonText(e);

  return (
    <div class='space-y-4'>
      <PageHeader
        title={
          <span class='flex flex-wrap items-center gap-2'>
            <StatusBadge status={e.status} /> {project?.name ?? 'Run'} <SourceBadge source={e.source} ciContext={e.ciContext} />
          </span>
        }
        subtitle={
          <>
            {e.ingestMeta?.runName && <span class='mr-2'>{e.ingestMeta.runName}</span>}
            <span class='font-mono text-xs'>{e.taskId}</span>
          </>
        }
        actions={
          <>
            <Link href='/executions' class='self-center text-sm text-slate-600 underline dark:text-slate-400'>
              All executions
            </Link>
            <RunActions execution={e} onCancelRequested={() => void execution.reload()} />
          </>
        }
      />

      <RunFacts execution={e} now={now} />
      {endReason && <Notice kind={e.status === 'PASSED' || e.status === 'CANCELLED' ? 'info' : 'error'}>{endReason}</Notice>}

      {e.source === 'external-ci' && (
        <Card>
          <CiContextPanel execution={e} />
        </Card>
      )}
      {e.analysis && e.analysis.code !== 'NOT_CONFIGURED' && e.analysis.code !== 'NO_FAILURES' && (
        <Card title='AI analysis'>
          <AnalysisPanel analysis={e.analysis} />
        </Card>
      )}
      {(e.failed > 0 || e.status === 'FAILED') && !active && <FailureHistory taskId={e.taskId} status={e.status} />}

      <Terminal
        buffer={log}
        version={logVersion}
        live={connection === 'open'}
        emptyText={active ? 'Waiting for output…' : 'This run produced no log output.'}
      />
      {connection === 'reconnecting' && active && (
        <p class='text-xs text-amber-600' role='status'>
          Connection lost; reconnecting and resuming the log…
        </p>
      )}

      <Card title='Tests'>
        <TestResultsTable results={results} taskId={e.taskId} />
      </Card>
      <ArtifactsCard artifacts={artifacts} active={active} />
    </div>
  );
}
