// Cancelling and deleting runs. A PENDING run leaves the queue and ends at once; a RUNNING run is
// stopped by its agent, which learns of the cancel in its next heartbeat answer.
import { and, eq, inArray } from 'drizzle-orm';
import { executions } from '../db/schema';
import type { AppEnv, Env } from '../env';
import { chunks } from '../lib/d1';
import { ApiError } from '../lib/errors';
import { ACTIVE_STATUSES, isFinal, publish, roomOf, transition, type ExecutionRow } from './executions';
import { dispatcherOf } from './runs';

export async function cancelRun(env: Env, row: ExecutionRow): Promise<{ status: string; cancelled: 'now' | 'requested' }> {
  if (isFinal(row.status)) throw new ApiError(409, 'ALREADY_FINISHED', `This run already ended ${row.status}`);
  const outcome = row.queue ? await dispatcherOf(env, row.queue).cancel(row.taskId) : 'unknown';
  if (outcome === 'requested') {
    await roomOf(env, row.taskId).apply({ lines: [{ stream: 'system', data: '[agnox] cancel requested; waiting for the agent to stop the run\n', ts: Date.now() }] });
    return { status: row.status, cancelled: 'requested' };
  }
  const ended = await transition(env, row.taskId, 'CANCELLED', { from: ACTIVE_STATUSES, patch: { reason: 'cancel' }, note: 'run cancelled' });
  return { status: ended?.status ?? 'CANCELLED', cancelled: 'now' };
}

/** Deletes finished runs (their D1 rows, test results, stored log); running ones must be cancelled first. */
export async function deleteRuns(env: Env, db: AppEnv['Variables']['db'], organizationId: string, rows: ExecutionRow[]) {
  const deletable = rows.filter((r) => isFinal(r.status));
  const results = rows.filter((r) => !isFinal(r.status)).map((r) => ({ taskId: r.taskId, ok: false, code: 'RUN_ACTIVE' }));
  if (deletable.length) {
    const ids = deletable.map((r) => r.taskId);
    await db.batch(chunks(ids).map((part) => db.delete(executions)
      .where(and(eq(executions.organizationId, organizationId), inArray(executions.taskId, part)))) as unknown as Parameters<typeof db.batch>[0]);
    await Promise.all(ids.map(async (id) => {
      await roomOf(env, id).purge();
      const listed = await env.ARTIFACTS.list({ prefix: `${organizationId}/${id}/` });
      if (listed.objects.length) await env.ARTIFACTS.delete(listed.objects.map((o) => o.key));
    }));
    await publish(env, organizationId, { type: 'execution-deleted', taskIds: ids });
    results.push(...ids.map((taskId) => ({ taskId, ok: true, code: 'DELETED' })));
  }
  return results;
}
