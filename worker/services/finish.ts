// Every run ends through here — the agent's complete, an ingest teardown, a lost agent, a timeout —
// so whatever follows a final status (AI analysis, Slack) hangs off one place.
//
// FAILED/ERROR with analysis on: the run goes to ANALYZING and analyzeRun (background) gives it its final
// status afterwards. A FAILED run whose every failing test is quarantined ends PASSED. Slack hears of
// every final status. None of this can hold a run back: the background work never throws, and the cron
// sweep finalises a run whose analysis was abandoned.
import { waitUntil } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import type { AnalysisRecord } from '../contracts/analysis';
import { executions, type ExecutionStatus } from '../db/schema';
import type { Env } from '../env';
import { analysisSkipReason, analyzeRun } from './analysis';
import { dbOf, transition, type ExecutionRow } from './executions';
import { isFinal } from '../contracts/vocabulary';
import { failuresAllQuarantined } from './quarantine';
import { notifyRunEnded } from './slack';

export type FinishOptions = { from: ExecutionStatus[]; patch?: Partial<ExecutionRow>; note?: string };

/** Keeps background work alive past the response where the runtime allows it (Worker requests, DOs). */
function inBackground(work: Promise<unknown>) {
  const guarded = work.catch((err) => console.warn('background work after a run ended failed', String(err)));
  try {
    waitUntil(guarded);
  } catch {
    // Outside a request context the promise simply runs; the cron sweep covers an interrupted analysis.
  }
}

export async function finishRun(env: Env, taskId: string, status: ExecutionStatus, opts: FinishOptions): Promise<ExecutionRow | undefined> {
  let final = status;
  let patch = opts.patch ?? {};
  let note = opts.note;
  if (status === 'FAILED' || status === 'ERROR') {
    const [run] = await dbOf(env).select({ organizationId: executions.organizationId, projectId: executions.projectId }).from(executions)
      .where(eq(executions.taskId, taskId)).limit(1);
    if (!run) return undefined;
    const quarantined = status === 'FAILED' ? await failuresAllQuarantined(env, { taskId, ...run }) : null;
    if (quarantined) {
      final = 'PASSED';
      note = [note, `${quarantined.length} failing test(s) are quarantined, so the run passes: ${quarantined.slice(0, 5).join('; ')}`].filter(Boolean).join('; ');
    } else {
      const skip = await analysisSkipReason(env, run.organizationId);
      if (!skip) {
        const pending: AnalysisRecord = { status: 'pending', finalStatus: status, requestedAt: Date.now() };
        const row = await transition(env, taskId, 'ANALYZING', {
          from: opts.from, patch: { ...patch, analysis: pending }, note: [note, `run ${status}: asking AI for the root cause…`].filter(Boolean).join('; '),
        });
        if (row) inBackground(analyzeRun(env, taskId));
        return row;
      }
      patch = { ...patch, analysis: { status: 'skipped', code: skip.code, error: skip.error, at: Date.now() } satisfies AnalysisRecord };
    }
  }
  const row = await transition(env, taskId, final, { ...opts, patch, note });
  if (row && isFinal(final)) inBackground(notifyRunEnded(env, row));
  return row;
}
