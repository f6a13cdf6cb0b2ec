// Deleting finished runs for good: everything a run left behind, wherever it is. Used by the
// retention job (expired runs) and by bulk delete.
//
// Order makes it retryable: the room and the R2 objects go first and the D1 rows last, so a run whose
// cleanup stopped halfway (an error, or this call's budget ran out) keeps its `executions` row and is
// found and finished by the next call. Every step is idempotent.
//
// References from rows that outlive the run are cut, never left dangling: a test cycle's item keeps
// its status (and the cycle its summary) but loses the link to the run; the cycle an external-CI
// reporter created for its run mirrors that one run, so it goes with it.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { executions, ingestSessions, notifications, testCycleItems, testCycles, testResults } from '../db/schema';
import type { Env } from '../env';
import { publish, type ExecutionRow } from './executions';
import { roomOf, type Db } from '../bindings';
import { resultsArchiveKey } from './run-results';
import { FINAL_STATUSES } from '../contracts/vocabulary';

/** What purging needs to know about a run: where its data is, and which rows point at it. */
export type PurgeTarget = Pick<ExecutionRow, 'taskId' | 'organizationId' | 'source' | 'cycleId' | 'cycleItemId'> & { sessionId: string | null };

export const purgeTarget = (row: ExecutionRow): PurgeTarget => ({
  taskId: row.taskId,
  organizationId: row.organizationId,
  source: row.source,
  cycleId: row.cycleId,
  cycleItemId: row.cycleItemId,
  sessionId: typeof row.ingestMeta?.sessionId === 'string' ? row.ingestMeta.sessionId : null,
});

/**
 * How much one call may do, so that one invocation stays within Cloudflare's 1,000 D1 queries and
 * (on older limits) 1,000 subrequests: per run about 1 room call, 3 R2 calls (a list and a delete
 * of ≤ 1,000 keys, and the delete of its results' archive) and 1 hub call, plus ≤ 1 D1 statement. Result rows are deleted at most 5,000 per
 * statement so that no statement nears D1's 30 s limit, whatever a run's size. A run larger than the
 * budget still makes progress on every call.
 */
export type PurgeBudget = { r2Calls: number; resultRows: number };
export const purgeBudget = (runs: number): PurgeBudget => ({ r2Calls: 3 * runs, resultRows: 500 * runs });
const RESULT_ROWS_PER_STATEMENT = 5_000;
/** Two id lists per statement stay under D1's 100 bound parameters. */
const RUNS_PER_STATEMENT = 45;
/** R2 lists and deletes at most 1,000 keys per call. */
const KEYS_PER_CALL = 1_000;
/** Runs whose room and objects are purged at once (Workers allow 6 open connections per invocation). */
const CONCURRENCY = 6;

/**
 * Deletes the runs (which must be final: callers filter) with their room, R2 objects and D1 rows,
 * and tells the orgs' dashboards. Returns the taskIds now gone; the others are left for a later call.
 */
export async function purgeRuns(env: Env, db: Db, runs: PurgeTarget[], budget = purgeBudget(runs.length)): Promise<string[]> {
  const cleared = await mapLimited(runs, CONCURRENCY, (run) => purgeStorage(env, run, budget));
  const ready = runs.filter((_, i) => cleared[i]);
  const gone: PurgeTarget[] = [];
  for (let i = 0; i < ready.length; i += RUNS_PER_STATEMENT) {
    const chunk = ready.slice(i, i + RUNS_PER_STATEMENT);
    if (
      !(await deleteResults(
        db,
        chunk.map((r) => r.taskId),
        budget,
      ))
    )
      break;
    await deleteRows(db, chunk);
    gone.push(...chunk);
  }
  const byOrg = new Map<string, string[]>();
  for (const r of gone) byOrg.set(r.organizationId, [...(byOrg.get(r.organizationId) ?? []), r.taskId]);
  for (const [org, taskIds] of byOrg) publish(env, org, { deleted: taskIds });
  return gone.map((r) => r.taskId);
}

/** The run's room (log, live results) and its R2 objects; false when not all of it is gone yet. */
async function purgeStorage(env: Env, run: PurgeTarget, budget: PurgeBudget): Promise<boolean> {
  try {
    await roomOf(env, run.taskId).purge();
    if (!(await deleteObjects(env.ARTIFACTS, `${run.organizationId}/${run.taskId}/`, budget))) return false;
    budget.r2Calls -= 1;
    await env.ARTIFACTS.delete(resultsArchiveKey(run)); // the results' archive (run-results.ts), outside the run's prefix
    return true;
  } catch (err) {
    console.error("purging a run's room or objects failed; retried next time", run.taskId, String(err));
    return false;
  }
}

/** Artifacts, attachments and reports: every key under the run's prefix. Re-lists from the start, since deleted keys are gone. */
async function deleteObjects(bucket: R2Bucket, prefix: string, budget: PurgeBudget): Promise<boolean> {
  for (;;) {
    if (budget.r2Calls <= 0) return false;
    budget.r2Calls -= 1;
    const listed = await bucket.list({ prefix, limit: KEYS_PER_CALL });
    if (listed.objects.length) {
      budget.r2Calls -= 1;
      await bucket.delete(listed.objects.map((o) => o.key));
    }
    if (!listed.truncated) return true;
  }
}

/** The runs' test results, a bounded number of rows per statement; false when the budget ran out first. */
async function deleteResults(db: Db, taskIds: string[], budget: PurgeBudget): Promise<boolean> {
  for (;;) {
    if (budget.resultRows <= 0) return false;
    const batch = db.select({ rowid: sql`rowid` }).from(testResults).where(inArray(testResults.taskId, taskIds)).limit(RESULT_ROWS_PER_STATEMENT);
    const result = await db.delete(testResults).where(inArray(sql`rowid`, batch));
    const deleted = result.meta.changes ?? 0;
    budget.resultRows -= deleted;
    if (deleted < RESULT_ROWS_PER_STATEMENT) return true;
  }
}

/** Every other row of the runs, in one batch (atomic): references cut, the runs' own rows deleted, `executions` last. */
async function deleteRows(db: Db, runs: PurgeTarget[]) {
  const taskIds = runs.map((r) => r.taskId);
  const sessionIds = runs.flatMap((r) => (r.sessionId ? [r.sessionId] : []));
  const reporterCycles = runs.flatMap((r) => (r.source === 'external-ci' && r.cycleId ? [r.cycleId] : []));
  const cycleItems = runs.flatMap((r) => (r.source !== 'external-ci' && r.cycleItemId ? [r.cycleItemId] : []));
  const ownCycle = and(inArray(testCycles.id, reporterCycles), eq(testCycles.source, 'external-ci'), inArray(testCycles.taskId, taskIds));
  const optional: BatchItem<'sqlite'>[] = [];
  if (sessionIds.length) optional.push(db.delete(ingestSessions).where(and(inArray(ingestSessions.id, sessionIds), inArray(ingestSessions.taskId, taskIds))));
  if (cycleItems.length)
    optional.push(
      db
        .update(testCycleItems)
        .set({ taskId: null })
        .where(and(inArray(testCycleItems.id, cycleItems), inArray(testCycleItems.taskId, taskIds))),
    );
  if (reporterCycles.length) {
    optional.push(
      db.delete(testCycleItems).where(inArray(testCycleItems.cycleId, db.select({ id: testCycles.id }).from(testCycles).where(ownCycle))),
      db.delete(testCycles).where(ownCycle),
    );
  }
  await db.batch([
    db.delete(notifications).where(inArray(notifications.taskId, taskIds)),
    ...optional,
    db.delete(executions).where(and(inArray(executions.taskId, taskIds), inArray(executions.status, FINAL_STATUSES))),
  ]);
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
