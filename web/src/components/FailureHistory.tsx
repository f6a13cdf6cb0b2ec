// A run's failures with their fingerprint history (GET /api/insights/executions/:taskId/failures):
// "this failure has happened N times since …, first seen in run X".
import type { FingerprintHistory } from '../../../worker/contracts/insights';
import { api } from '../lib/api';
import { dateTime } from '../lib/format';
import { Link } from '../lib/router';
import { useEffect, useState } from 'preact/hooks';
import { Card } from './ui';

/** One failing attempt of the run with its fingerprint's org-wide history (no contract for the row yet). */
type Failure = {
  testId: string;
  title: string;
  file: string | null;
  status: string;
  retry: number;
  errorMessage: string | null;
  fingerprint: string | null;
  history: FingerprintHistory | null;
};

/** Run ids are long ("run_" + random); the head is enough to tell runs apart on screen. */
const shortId = (taskId: string) => (taskId.length > 12 ? `${taskId.slice(0, 12)}…` : taskId);

export function FailureHistory({ taskId, status }: { taskId: string; status: string }) {
  const [failures, setFailures] = useState<Failure[] | null>(null);
  useEffect(() => {
    // Reloaded when the status changes: results are stored when the run ends.
    api<{ failures: Failure[] }>(`/api/insights/executions/${encodeURIComponent(taskId)}/failures`).then(
      (r) => setFailures(r.failures),
      () => setFailures([]),
    );
  }, [taskId, status]);
  // One line per failing test: its last failing attempt.
  const byTest = new Map<string, Failure>();
  for (const f of failures ?? []) if (f.status !== 'flaky') byTest.set(f.testId, f);
  const rows = [...byTest.values()];
  if (!rows.length) return null;
  return (
    <Card title='Failure history'>
      <ul class='divide-y divide-slate-200 text-sm dark:divide-slate-800' data-testid='failure-history'>
        {rows.map((f) => (
          <li key={f.testId} class='py-2'>
            <p class='font-medium'>
              {f.file ? `${f.file} › ` : ''}
              {f.title}
            </p>
            {f.errorMessage && (
              <p class='truncate font-mono text-xs text-red-700 dark:text-red-400' title={f.errorMessage}>
                {f.errorMessage.split('\n')[0]}
              </p>
            )}
            <p class='text-xs text-slate-500 dark:text-slate-400'>
              {!f.history || (f.history.firstTaskId === taskId && f.history.occurrences <= 1) ? (
                'First time this failure was seen.'
              ) : (
                <>
                  This failure has happened {f.history.occurrences} times in {f.history.runs} runs
                  {f.history.projects > 1 ? ` across ${f.history.projects} projects` : ''} since {dateTime(f.history.firstSeenAt)}, first seen in{' '}
                  {f.history.firstTaskId === taskId ? (
                    'this run'
                  ) : (
                    <Link class='text-indigo-600 underline dark:text-indigo-400' href={`/executions/${f.history.firstTaskId}`}>
                      {shortId(f.history.firstTaskId)}
                    </Link>
                  )}
                  .
                </>
              )}
              {f.fingerprint && (
                <span class='ml-2 font-mono' title='failure fingerprint'>
                  #{f.fingerprint.slice(0, 8)}
                </span>
              )}
            </p>
          </li>
        ))}
      </ul>
    </Card>
  );
}
