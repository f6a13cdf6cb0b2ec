// Starting a test cycle's automated items: one run per item, through the same door as every run
// (runs/create.ts). Kept apart from cycles.ts, which runs/lifecycle.ts calls when a run ends.
import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { Db } from '../bindings';
import type { CycleRunBody } from '../contracts/cycles';
import { isFinal } from '../contracts/vocabulary';
import { executions, testCases, testCycleItems, type testCycles } from '../db/schema';
import type { Caller, Env } from '../env';
import { ApiError } from '../lib/errors';
import { createRun } from '../runs/create';
import { recomputeCycle } from './cycles';

type CycleRow = typeof testCycles.$inferSelect;

export type CycleRunResult = { started: Array<{ itemId: string; taskId: string }>; failed: Array<{ itemId: string; code: string; error: string }> };

/**
 * Starts one run per automated item that is not running (trigger `cycle`, the item's test case's
 * `automatedTest` as the test selection). A refusal (plan limit) stops the rest; when nothing
 * could start, the refusal is the answer.
 */
export async function startCycleRuns(env: Env, db: Db, caller: Caller, cycle: CycleRow, body: z.output<typeof CycleRunBody>): Promise<CycleRunResult> {
  const items = await db
    .select({ item: testCycleItems, automatedTest: testCases.automatedTest })
    .from(testCycleItems)
    .leftJoin(testCases, eq(testCases.id, testCycleItems.testCaseId))
    .where(and(eq(testCycleItems.cycleId, cycle.id), eq(testCycleItems.type, 'automated')))
    .orderBy(asc(testCycleItems.createdAt), asc(testCycleItems.id));
  const runnable = items.filter(({ item }) => item.status !== 'RUNNING');
  if (!items.length) throw new ApiError(409, 'NO_AUTOMATED_ITEMS', 'This cycle has no automated items to run; mark its manual items instead');
  if (!runnable.length) throw new ApiError(409, 'ALREADY_RUNNING', 'Every automated item of this cycle is already running');
  const result: CycleRunResult = { started: [], failed: [] };
  for (const { item, automatedTest } of runnable) {
    try {
      const run = await createRun(
        env,
        db,
        caller,
        {
          projectId: cycle.projectId,
          queue: body.queue,
          environment: body.environment,
          baseUrl: body.baseUrl,
          labels: body.labels,
          ...(automatedTest ? { tests: [automatedTest] } : {}),
        },
        { trigger: 'cycle', cycleId: cycle.id, cycleItemId: item.id },
      );
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
