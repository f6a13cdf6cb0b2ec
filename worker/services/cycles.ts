// Hybrid test cycles: the summary and status follow the items, recomputed whenever one changes
// (a tester marks a manual item, or an automated item's run ends). Cycles of external CI runs
// (ingest) keep the per-test summary the teardown writes.
import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { CycleRunBody } from '../contracts/cycles';
import { executions, testCases, testCycleItems, testCycles, type CycleSummary } from '../db/schema';
import type { AppEnv, Caller, Env } from '../env';
import { ApiError } from '../lib/errors';
import { dbOf, type ExecutionRow } from './executions';
import { isFinal } from '../contracts/vocabulary';
import { createRun } from './runs';

type Db = AppEnv['Variables']['db'];
type ItemRow = typeof testCycleItems.$inferSelect;
type CycleRow = typeof testCycles.$inferSelect;
export type CycleStatus = CycleRow['status'];

const BUCKET: Record<string, keyof Omit<CycleSummary, 'total'>> = {
  PASSED: 'passed', FAILED: 'failed', ERROR: 'failed', TIMED_OUT: 'failed', BLOCKED: 'blocked', SKIPPED: 'skipped', CANCELLED: 'skipped',
};

/** Counts per outcome; anything not yet decided (PENDING, RUNNING) is pending. */
export function summarize(items: Array<Pick<ItemRow, 'status'>>): { summary: CycleSummary; status: CycleStatus } {
  const summary: CycleSummary = { total: items.length, passed: 0, failed: 0, blocked: 0, skipped: 0, pending: 0 };
  for (const item of items) summary[BUCKET[item.status] ?? 'pending']++;
  const started = items.some((i) => i.status !== 'PENDING');
  const status: CycleStatus = summary.total > 0 && summary.pending === 0 ? 'COMPLETED' : started ? 'RUNNING' : 'PENDING';
  return { summary, status };
}

/** Rewrites the cycle's summary and status from its items; returns the updated cycle. */
export async function recomputeCycle(db: Db, cycleId: string): Promise<CycleRow | undefined> {
  const items = await db.select({ status: testCycleItems.status }).from(testCycleItems).where(eq(testCycleItems.cycleId, cycleId));
  const { summary, status } = summarize(items);
  const [row] = await db.update(testCycles).set({ summary, status, updatedAt: Date.now() })
    // Ingest cycles count tests, not items: their teardown owns the summary.
    .where(and(eq(testCycles.id, cycleId), eq(testCycles.source, 'manual'))).returning();
  return row;
}

/** finishRun calls this for every run that ends: a cycle's automated item takes the run's final status. */
export async function onRunFinished(env: Env, row: ExecutionRow): Promise<void> {
  if (row.trigger !== 'cycle' || !row.cycleId || !row.cycleItemId) return;
  const db = dbOf(env);
  // The task guard: a later re-run of the item owns it, so an older run ending changes nothing.
  const updated = await db.update(testCycleItems).set({ status: row.status, updatedAt: Date.now() })
    .where(and(eq(testCycleItems.id, row.cycleItemId), eq(testCycleItems.taskId, row.taskId))).returning({ id: testCycleItems.id });
  if (updated.length) await recomputeCycle(db, row.cycleId);
}

export type CycleRunResult = { started: Array<{ itemId: string; taskId: string }>; failed: Array<{ itemId: string; code: string; error: string }> };

/**
 * Starts one run per automated item that is not running (trigger `cycle`, the item's test case's
 * `automatedTest` as the test selection). A refusal (plan limit) stops the rest; when nothing
 * could start, the refusal is the answer.
 */
export async function startCycleRuns(env: Env, db: Db, caller: Caller, cycle: CycleRow, body: z.output<typeof CycleRunBody>): Promise<CycleRunResult> {
  const items = await db.select({ item: testCycleItems, automatedTest: testCases.automatedTest }).from(testCycleItems)
    .leftJoin(testCases, eq(testCases.id, testCycleItems.testCaseId))
    .where(and(eq(testCycleItems.cycleId, cycle.id), eq(testCycleItems.type, 'automated'))).orderBy(asc(testCycleItems.createdAt), asc(testCycleItems.id));
  const runnable = items.filter(({ item }) => item.status !== 'RUNNING');
  if (!items.length) throw new ApiError(409, 'NO_AUTOMATED_ITEMS', 'This cycle has no automated items to run; mark its manual items instead');
  if (!runnable.length) throw new ApiError(409, 'ALREADY_RUNNING', 'Every automated item of this cycle is already running');
  const result: CycleRunResult = { started: [], failed: [] };
  for (const { item, automatedTest } of runnable) {
    try {
      const run = await createRun(env, db, caller, {
        projectId: cycle.projectId, queue: body.queue, environment: body.environment, baseUrl: body.baseUrl, labels: body.labels,
        ...(automatedTest ? { tests: [automatedTest] } : {}),
      }, { trigger: 'cycle', cycleId: cycle.id, cycleItemId: item.id });
      await db.update(testCycleItems).set({ status: 'RUNNING', taskId: run.taskId, updatedAt: Date.now() }).where(eq(testCycleItems.id, item.id));
      // A run that ended before the item knew its taskId (a very fast agent) is applied here instead.
      const [now] = await db.select().from(executions).where(eq(executions.taskId, run.taskId)).limit(1);
      if (now && isFinal(now.status)) await db.update(testCycleItems).set({ status: now.status }).where(eq(testCycleItems.id, item.id));
      result.started.push({ itemId: item.id, taskId: run.taskId });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      result.failed.push({ itemId: item.id, code: err.code, error: err.message });
      if (!result.started.length) throw err;
      break;
    }
  }
  await recomputeCycle(db, cycle.id);
  return result;
}
