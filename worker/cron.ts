// The scheduled handler (every minute): work that must happen even when nobody calls the API.
// Each job runs on its own: one that fails is logged and does not stop the others.
import type { Env } from './env';
import { purgeExpiredAuthRows } from './services/auth-rows';
import { sweepAbandonedAnalyses } from './runs/lifecycle';
import { dbOf } from './bindings';
import { cancelOrphanedRuns, orphanHours } from './services/ingest';
import { migrateLegacyResults } from './services/legacy-results';
import { purgeExpiredAggregates, purgeExpiredRuns } from './services/retention';
import { runDueSchedules } from './services/scheduler';

export async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  const db = dbOf(env);
  const jobs: Record<string, () => Promise<unknown>> = {
    schedules: () => runDueSchedules(env, Date.now(), db),
    'abandoned analyses': () => sweepAbandonedAnalyses(env),
    'orphaned ingest runs': () => cancelOrphanedRuns(env, db, orphanHours(env)),
    'expired auth rows': () => purgeExpiredAuthRows(db),
    'expired runs': () => purgeExpiredRuns(env, db),
    'expired aggregates': () => purgeExpiredAggregates(db),
    'legacy test results': () => migrateLegacyResults(env, db),
  };
  const names = Object.keys(jobs);
  const results = await Promise.allSettled(Object.values(jobs).map((job) => job()));
  const failed: string[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    failed.push(names[i]!);
    console.error(`cron job "${names[i]}" failed:`, String(result.reason));
  });
  if (failed.length) throw new Error(`cron jobs failed: ${failed.join(', ')}`);
}
