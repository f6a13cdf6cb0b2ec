// Cancelling and deleting runs. A PENDING run leaves the queue and ends at once; a RUNNING run is
// stopped by its agent, which learns of the cancel in its next heartbeat answer: the run's room,
// which keeps the lease, records the request.
import type { Env } from '../env';
import { ApiError } from '../lib/errors';
import type { ExecutionRow } from '../services/executions';
import { roomOf, type Db } from '../bindings';
import { endRun } from './lifecycle';
import { ACTIVE_STATUSES, isFinal } from '../contracts/vocabulary';
import { purgeRuns, purgeTarget } from '../services/purge-runs';
import { dispatcherOf } from '../bindings';
import { jobShard } from './queue';

export async function cancelRun(env: Env, row: ExecutionRow): Promise<{ status: string; cancelled: 'now' | 'requested' }> {
  if (isFinal(row.status)) throw new ApiError(409, 'ALREADY_FINISHED', `This run already ended ${row.status}`);
  const outcome = row.queue ? await dispatcherOf(env, jobShard(row.queue, row.taskId)).cancel(row.taskId) : 'unknown';
  if (outcome === 'leased') {
    await roomOf(env, row.taskId).requestCancel([
      { stream: 'system', data: '[agnox] cancel requested; waiting for the agent to stop the run\n', ts: Date.now() },
    ]);
    return { status: row.status, cancelled: 'requested' };
  }
  const ended = await endRun(env, row.taskId, 'CANCELLED', { from: ACTIVE_STATUSES, patch: { reason: 'cancel' }, note: 'run cancelled' });
  return { status: ended?.status ?? 'CANCELLED', cancelled: 'now' };
}

/** Deletes finished runs with everything they left (purge-runs.ts); running ones must be cancelled first. */
export async function deleteRuns(env: Env, db: Db, rows: ExecutionRow[]) {
  const deletable = rows.filter((r) => isFinal(r.status));
  const results = rows.filter((r) => !isFinal(r.status)).map((r) => ({ taskId: r.taskId, ok: false, code: 'RUN_ACTIVE' }));
  const gone = new Set(await purgeRuns(env, db, deletable.map(purgeTarget)));
  // A run too large for one request's budget keeps its row (still listed) until the rest is gone: deleting again finishes it.
  results.push(
    ...deletable.map((r) =>
      gone.has(r.taskId) ? { taskId: r.taskId, ok: true, code: 'DELETED' } : { taskId: r.taskId, ok: false, code: 'DELETE_INCOMPLETE' },
    ),
  );
  return results;
}
