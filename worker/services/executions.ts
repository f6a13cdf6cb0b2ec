// Execution status changes in one place: the D1 row, the run's room, and the org's live list.
import { and, eq, inArray } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import type { ExecutionSummary, HubMessage } from '../contracts/live';
import * as schema from '../db/schema';
import { executions, organizations, type ExecutionStatus } from '../db/schema';
import type { RoomClosed } from '../../durable-objects/ExecutionRoom';
import type { Env } from '../env';
import { ApiError } from '../lib/errors';
import { isFinal } from '../contracts/vocabulary';
import { onRunFinished } from './cycles';


export type ExecutionRow = typeof executions.$inferSelect;

// drizzle builds its table config from the schema on every construction (measurable on the ingest hot
// path), so each isolate makes one per D1 binding.
const dbs = new WeakMap<D1Database, ReturnType<typeof drizzle<typeof schema>>>();
export function dbOf(env: Env) {
  let db = dbs.get(env.DB);
  if (!db) dbs.set(env.DB, (db = drizzle(env.DB, { schema })));
  return db;
}
export const roomOf = (env: Env, taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId));
/** The API's answer to a write the run's room refused: the run has ended (409) or was deleted (410). */
export const roomRefused = (why: RoomClosed) => (why === 'RUN_DELETED'
  ? new ApiError(410, 'RUN_DELETED', 'This run was deleted; it takes no more data')
  : new ApiError(409, 'RUN_ENDED', 'This run has ended; it takes no more data'));
export const hubOf = (env: Env, organizationId: string) => env.ORG_HUB.get(env.ORG_HUB.idFromName(organizationId));

/** The run's own name: what the reporter sent as runName (stored with the ingest session's meta). */
export const runNameOf = (e: ExecutionRow): string | null => (typeof e.ingestMeta?.runName === 'string' ? e.ingestMeta.runName : null);

export function executionSummary(e: ExecutionRow): ExecutionSummary {
  return {
    taskId: e.taskId, organizationId: e.organizationId, projectId: e.projectId, status: e.status, source: e.source, trigger: e.trigger,
    environment: e.environment, image: e.image, reason: e.reason, createdAt: e.createdAt, startedAt: e.startedAt, finishedAt: e.finishedAt,
    totalTests: e.totalTests, passed: e.passed, failed: e.failed, skipped: e.skipped, flaky: e.flaky, durationMs: e.durationMs,
    ciContext: e.ciContext ?? null, name: runNameOf(e),
  };
}

/** Tells every dashboard of the org. Never fails the caller: the list also refreshes on reconnect. */
export async function publish(env: Env, organizationId: string, message: HubMessage) {
  try {
    await hubOf(env, organizationId).publish(message);
  } catch (err) {
    console.warn('publish to OrgHub failed', organizationId, String(err));
  }
}

export const publishExecution = async (env: Env, row: ExecutionRow) =>
  publish(env, row.organizationId, { type: 'execution-updated', execution: executionSummary(row) });

/**
 * Moves an execution to `status` if it is currently in one of `from` (a guard against races:
 * a run cancelled while its agent completes ends once). Updates the room and the live list.
 * Returns the updated row, or undefined when the guard did not match.
 */
export async function transition(
  env: Env,
  taskId: string,
  status: ExecutionStatus,
  opts: { from: ExecutionStatus[]; patch?: Partial<ExecutionRow>; note?: string },
): Promise<ExecutionRow | undefined> {
  const db = dbOf(env);
  const now = Date.now();
  const final = isFinal(status);
  // A final status also needs the org's retention; read it alongside the guarded update (one round trip).
  const [[row], [org]] = await Promise.all([
    db.update(executions)
      .set({ ...opts.patch, status, updatedAt: now, ...(final ? { finishedAt: now } : {}), ...(status === 'RUNNING' ? { startedAt: now } : {}) })
      .where(and(eq(executions.taskId, taskId), inArray(executions.status, opts.from)))
      .returning(),
    final
      ? db.select({ limits: organizations.limits }).from(organizations)
        .innerJoin(executions, eq(executions.organizationId, organizations.id)).where(eq(executions.taskId, taskId)).limit(1)
      : Promise.resolve([]),
  ]);
  if (!row) return undefined;
  const room = roomOf(env, taskId);
  const lines = opts.note ? [{ stream: 'system' as const, data: `[agnox] ${opts.note}\n`, ts: now }] : undefined;
  if (final) {
    await room.finish({ status, reason: row.reason, retentionDays: org?.limits.retentionDays, lines });
    // a test cycle's automated item follows its run's final status
    await Promise.all([publishExecution(env, row), onRunFinished(env, row)]);
  } else {
    // ANALYZING comes from finishRun only: the run is over and its analysis follows, so the room stops
    // taking agent and reporter data now, not when the analysis ends.
    await Promise.all([room.apply({ lines, status: { status, reason: row.reason }, ends: status === 'ANALYZING' }), publishExecution(env, row)]);
  }
  return row;
}
