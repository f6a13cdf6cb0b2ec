// Data retention. A finished run (PASSED, FAILED, ERROR, CANCELLED, TIMED_OUT) is kept for its
// organization's `limits.retentionDays` (the plan's: 30, 90 or 365 days), counted from when it
// finished; a final run without a recorded end counts from when it was created. The limit is read
// when the run is purged, not when it finished, so a plan change moves the expiry of every run the
// org already has. Runs still PENDING, RUNNING or ANALYZING never expire: the sweeps that end stuck
// runs (lease timeouts, orphaned ingest sessions, abandoned analyses) make them final first.
//
// The cron job deletes expired runs in bounded batches (purge-runs.ts does the deleting); the run's
// room also has its own alarm (ExecutionRoom.alarm), which asks `runExpiry` before purging itself.
import { and, eq, lt, notInArray, sql } from 'drizzle-orm';
import { executions, organizations } from '../db/schema';
import type { Env } from '../env';
import { ACTIVE_STATUSES, isFinal } from '../contracts/vocabulary';
import { purgeRuns, type PurgeTarget } from './purge-runs';
import type { Db } from '../bindings';
import { batchable } from '../lib/d1';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Runs deleted per cron tick by default; what is left over goes in the next ticks. */
export const DEFAULT_RETENTION_BATCH_RUNS = 200;

export const retentionBatchRuns = (env: Env) => {
  const n = Number(env.RETENTION_BATCH_RUNS);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1_000) : DEFAULT_RETENTION_BATCH_RUNS;
};

/**
 * Up to `limit` expired runs, across organizations. Organizations are the outer loop (CROSS JOIN fixes
 * SQLite's join order), each costing one seek on `executions_org_created` bounded by its own cutoff,
 * instead of a scan of every final run: `created_at` bounds the range because a run ends after it
 * starts; the coalesce is the actual rule. "Not active" rather than "final" keeps that index (with an
 * IN list SQLite picks executions_org_status: 5 seeks per org, 3-4x slower when measured).
 */
export function expiredRunsQuery(db: Db, now: number, limit: number) {
  const days = sql`json_extract(${organizations.limits}, '$.retentionDays')`;
  const cutoff = sql`${now} - ${days} * ${DAY_MS}`;
  return db
    .select({
      taskId: executions.taskId,
      organizationId: executions.organizationId,
      source: executions.source,
      cycleId: executions.cycleId,
      cycleItemId: executions.cycleItemId,
      sessionId: sql<string | null>`json_extract(${executions.ingestMeta}, '$.sessionId')`,
    })
    .from(organizations)
    .crossJoin(executions)
    .where(
      and(
        eq(executions.organizationId, organizations.id),
        sql`${days} > 0`, // no (or a broken) retention setting purges nothing
        notInArray(executions.status, ACTIVE_STATUSES),
        lt(executions.createdAt, cutoff),
        lt(sql`coalesce(${executions.finishedAt}, ${executions.createdAt})`, cutoff),
      ),
    )
    .limit(limit);
}

/** Cron: deletes up to one batch of expired runs; returns the taskIds deleted. */
export async function purgeExpiredRuns(env: Env, db: Db, now = Date.now()): Promise<string[]> {
  const runs: PurgeTarget[] = await expiredRunsQuery(db, now, retentionBatchRuns(env));
  return runs.length ? purgeRuns(env, db, runs) : [];
}

/** Aggregate rows deleted per table per cron tick: bounds one statement's work. */
const AGGREGATE_ROWS_PER_TICK = 5_000;

/**
 * Cron: the per-day aggregates (test_daily, fingerprint_daily) follow the runs they came from: a day
 * older than the org's retention goes, at most AGGREGATE_ROWS_PER_TICK rows per table per tick.
 */
export async function purgeExpiredAggregates(db: Db, now = Date.now()): Promise<number> {
  const today = Math.floor(now / DAY_MS);
  const deleted = await db.batch([
    batchable(
      db,
      sql`DELETE FROM test_daily WHERE rowid IN (SELECT t.rowid FROM organizations o CROSS JOIN test_daily t
      WHERE t.organization_id = o.id AND json_extract(o.limits, '$.retentionDays') > 0 AND t.day < ${today} - json_extract(o.limits, '$.retentionDays')
      LIMIT ${AGGREGATE_ROWS_PER_TICK})`,
    ),
    batchable(
      db,
      sql`DELETE FROM fingerprint_daily WHERE rowid IN (SELECT f.rowid FROM organizations o CROSS JOIN fingerprint_daily f
      WHERE f.organization_id = o.id AND json_extract(o.limits, '$.retentionDays') > 0 AND f.day < ${today} - json_extract(o.limits, '$.retentionDays')
      LIMIT ${AGGREGATE_ROWS_PER_TICK})`,
    ),
  ]);
  return deleted.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
}

/**
 * When the run's stored data may go, under the org's current retention; null when the run is gone
 * from D1 (nothing to keep). A run not final yet is kept a full retention period from now.
 */
export async function runExpiry(db: Db, taskId: string, now = Date.now()): Promise<number | null> {
  const [row] = await db
    .select({ status: executions.status, finishedAt: executions.finishedAt, createdAt: executions.createdAt, limits: organizations.limits })
    .from(executions)
    .innerJoin(organizations, eq(organizations.id, executions.organizationId))
    .where(eq(executions.taskId, taskId))
    .limit(1);
  if (!row) return null;
  const days = row.limits.retentionDays;
  if (!(days > 0)) return now + 30 * DAY_MS; // a broken setting keeps data rather than losing it
  return (isFinal(row.status) ? (row.finishedAt ?? row.createdAt) : now) + days * DAY_MS;
}
