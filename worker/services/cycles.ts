// Hybrid test cycles: the summary and status follow the items, recomputed whenever one changes
// (a tester marks a manual item, or an automated item's run ends). Cycles of external CI runs
// (ingest) keep the per-test summary the teardown writes.
import { and, eq } from 'drizzle-orm';
import { dbOf, type Db } from '../bindings';
import { testCycleItems, testCycles, type CycleSummary } from '../db/schema';
import type { Env } from '../env';
import type { ExecutionRow } from './executions';

type ItemRow = typeof testCycleItems.$inferSelect;
type CycleRow = typeof testCycles.$inferSelect;
export type CycleStatus = CycleRow['status'];

const BUCKET: Record<string, keyof Omit<CycleSummary, 'total'>> = {
  PASSED: 'passed',
  FAILED: 'failed',
  ERROR: 'failed',
  TIMED_OUT: 'failed',
  BLOCKED: 'blocked',
  SKIPPED: 'skipped',
  CANCELLED: 'skipped',
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
  const [row] = await db
    .update(testCycles)
    .set({ summary, status, updatedAt: Date.now() })
    // Ingest cycles count tests, not items: their teardown owns the summary.
    .where(and(eq(testCycles.id, cycleId), eq(testCycles.source, 'manual')))
    .returning();
  return row;
}

/** One of the end-of-run steps (runs/lifecycle.ts) of every run: a cycle's automated item takes the run's final status. */
export async function onRunFinished(env: Env, row: ExecutionRow): Promise<void> {
  if (row.trigger !== 'cycle' || !row.cycleId || !row.cycleItemId) return;
  const db = dbOf(env);
  // The task guard: a later re-run of the item owns it, so an older run ending changes nothing.
  const updated = await db
    .update(testCycleItems)
    .set({ status: row.status, updatedAt: Date.now() })
    .where(and(eq(testCycleItems.id, row.cycleItemId), eq(testCycleItems.taskId, row.taskId)))
    .returning({ id: testCycleItems.id });
  if (updated.length) await recomputeCycle(db, row.cycleId);
}
