// A run as the API and the dashboards' live list show it: the summary of a row, its name, and the
// message that tells every dashboard of the org. (A run's status changes in runs/lifecycle.ts.)
import { waitUntil } from 'cloudflare:workers';
import type { ExecutionSummary, HubUpdate } from '../contracts/live';
import type { executions } from '../db/schema';
import type { RoomClosed } from '../../durable-objects/ExecutionRoom';
import { hubOf } from '../bindings';
import type { Env } from '../env';
import { ApiError } from '../lib/errors';

export type ExecutionRow = typeof executions.$inferSelect;

/** The API's answer to a write the run's room refused: the run has ended (409) or was deleted (410). */
export const roomRefused = (why: RoomClosed) =>
  why === 'RUN_DELETED'
    ? new ApiError(410, 'RUN_DELETED', 'This run was deleted; it takes no more data')
    : new ApiError(409, 'RUN_ENDED', 'This run has ended; it takes no more data');

/** The run's own name: what the reporter sent as runName (stored with the ingest session's meta). */
export const runNameOf = (e: ExecutionRow): string | null => (typeof e.ingestMeta?.runName === 'string' ? e.ingestMeta.runName : null);

export function executionSummary(e: ExecutionRow): ExecutionSummary {
  return {
    taskId: e.taskId,
    organizationId: e.organizationId,
    projectId: e.projectId,
    status: e.status,
    source: e.source,
    trigger: e.trigger,
    environment: e.environment,
    image: e.image,
    reason: e.reason,
    createdAt: e.createdAt,
    startedAt: e.startedAt,
    finishedAt: e.finishedAt,
    totalTests: e.totalTests,
    passed: e.passed,
    failed: e.failed,
    skipped: e.skipped,
    flaky: e.flaky,
    durationMs: e.durationMs,
    ciContext: e.ciContext ?? null,
    name: runNameOf(e),
  };
}

/**
 * Tells every dashboard of the org, in the background: the caller does not wait for the hub, which
 * sends what changed at most every HUB_FLUSH_MS anyway (OrgHub.ts). Never fails the caller: a failure
 * is logged, and the list also refreshes on reconnect.
 */
export function publish(env: Env, organizationId: string, update: HubUpdate): void {
  const sent = hubOf(env, organizationId)
    .publish(organizationId, [update])
    .catch((err) => console.warn('publish to OrgHub failed', organizationId, String(err)));
  try {
    waitUntil(sent);
  } catch {
    // Outside a request's context (none here) the call simply runs on.
  }
}

/** The run's summary, ordered at the hub by the row's updatedAt (an overtaken, older publish is dropped). */
export const publishExecution = (env: Env, row: ExecutionRow) => publish(env, row.organizationId, { execution: executionSummary(row), at: row.updatedAt });
