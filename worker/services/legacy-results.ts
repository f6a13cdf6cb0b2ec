// The migration of test_results (a D1 row per test per run, as runs were stored before the room and the
// daily aggregates held them): a cron step that takes a bounded batch of runs per tick and, for each,
// archives its results to R2 (run-results.ts), folds them into test_daily / fingerprint_daily on the day
// they were stored (test-aggregates.ts), and deletes its rows. Resumable and idempotent: a run's rows are
// its progress (a run is done once they are gone); the fold and the delete are one atomic batch and the
// fold is guarded by results_folded_at; the archive is the same object written again.
import { and, eq, inArray } from 'drizzle-orm';
import { roomOf, type Db } from '../bindings';
import { executions, testResults } from '../db/schema';
import type { Env } from '../env';
import { writeResultsArchive, storedTestResult } from './run-results';
import { foldRunStatements } from './test-aggregates';

/** Runs migrated per tick: each costs a read of its rows, an R2 write and one D1 batch. */
export const LEGACY_RUNS_PER_TICK = 20;

/** Cron: migrates up to `limit` runs' test_results; returns their taskIds (none once the table is empty). */
export async function migrateLegacyResults(env: Env, db: Db, limit = LEGACY_RUNS_PER_TICK): Promise<string[]> {
  // The task index gives the next runs without a scan; within the batch, older runs fold in first.
  const next = await db.selectDistinct({ taskId: testResults.taskId }).from(testResults).orderBy(testResults.taskId).limit(limit);
  if (!next.length) return [];
  const runs = await db
    .select({ taskId: executions.taskId, organizationId: executions.organizationId, foldedAt: executions.resultsFoldedAt })
    .from(executions)
    .where(
      inArray(
        executions.taskId,
        next.map((r) => r.taskId),
      ),
    )
    .orderBy(executions.createdAt);
  const done: string[] = [];
  for (const run of runs) {
    const rows = await db
      .select()
      .from(testResults)
      .where(eq(testResults.taskId, run.taskId))
      .orderBy(testResults.createdAt, testResults.testId, testResults.retry);
    if (!rows.length) continue;
    const tests = rows.map(storedTestResult);
    // The rows' organization is the run's (every query scoped by it); their time is when they were stored.
    const ref = { organizationId: run.organizationId, taskId: run.taskId };
    const remove = db.delete(testResults).where(and(eq(testResults.taskId, run.taskId), eq(testResults.organizationId, run.organizationId)));
    if (run.foldedAt !== null) {
      // Done before (its archive and aggregates stand): rows left over are only deleted.
      await remove;
      done.push(run.taskId);
      continue;
    }
    // The D1 copy was masked afresh at the end (ingest): it replaces the room's, which is read first while the room lives.
    await roomOf(env, run.taskId).apply({ tests });
    await writeResultsArchive(env, ref, tests);
    const storedAt = Math.min(...rows.map((r) => r.createdAt));
    await db.batch([...foldRunStatements(db, ref, tests, storedAt), remove] as unknown as Parameters<typeof db.batch>[0]);
    done.push(run.taskId);
  }
  return done;
}
