// The scheduled handler (every minute): housekeeping that must happen even when nobody calls the API.
import { drizzle } from 'drizzle-orm/d1';
import * as schema from './db/schema';
import type { Env } from './env';
import { purgeExpiredAuthRows } from './routes/auth';
import { sweepAbandonedAnalyses } from './services/analysis';
import { cancelOrphanedRuns, orphanHours } from './services/ingest';
import { runDueSchedules } from './services/scheduler';

export async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  const db = drizzle(env.DB, { schema });
  await purgeExpiredAuthRows(db);
  await cancelOrphanedRuns(env, db, orphanHours(env));
  await sweepAbandonedAnalyses(env);
  await runDueSchedules(env, Date.now(), db);
}
