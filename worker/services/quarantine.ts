// Quarantine: a flaky test a member parked with an owner, a reason and an expiry. It still runs and is
// reported, but its failure does not fail the run: runs/lifecycle.ts (endRun) turns a FAILED run whose every failing test
// is quarantined into PASSED (so this holds whatever agent or reporter version sent the results).
import { and, eq, gt, inArray } from 'drizzle-orm';
import { quarantines } from '../db/schema';
import type { Env } from '../env';
import { dbOf } from '../bindings';
import { testKeyOf } from './fingerprint';
import { runResults } from './run-results';

export type QuarantineRow = typeof quarantines.$inferSelect;

/** The quarantines in force now (not expired), for one project or the whole org. */
export async function activeQuarantines(env: Env, organizationId: string, projectId?: string, now = Date.now()): Promise<QuarantineRow[]> {
  return dbOf(env)
    .select()
    .from(quarantines)
    .where(and(eq(quarantines.organizationId, organizationId), gt(quarantines.expiresAt, now), ...(projectId ? [eq(quarantines.projectId, projectId)] : [])))
    .orderBy(quarantines.expiresAt);
}

const FAILING = ['failed', 'timedOut', 'interrupted'] as const;

/**
 * The failing tests of a run that are all quarantined: their keys when every test whose last attempt
 * failed is under quarantine (and there is at least one), else null (the run's failure stands).
 */
export async function failuresAllQuarantined(env: Env, run: { taskId: string; organizationId: string; projectId: string }): Promise<string[] | null> {
  const db = dbOf(env);
  const attempts = await runResults(env, run);
  const last = new Map<string, (typeof attempts)[number]>();
  for (const a of attempts) {
    const prev = last.get(a.testId);
    if (!prev || (a.retry ?? 0) >= (prev.retry ?? 0)) last.set(a.testId, a);
  }
  const failing = [...last.values()].filter((a) => (FAILING as readonly string[]).includes(a.status));
  if (!failing.length) return null;
  const keys = [...new Set(failing.map(testKeyOf))];
  const held = await db
    .select({ testKey: quarantines.testKey })
    .from(quarantines)
    .where(
      and(
        eq(quarantines.organizationId, run.organizationId),
        eq(quarantines.projectId, run.projectId),
        gt(quarantines.expiresAt, Date.now()),
        inArray(quarantines.testKey, keys.slice(0, 90)),
      ),
    );
  const quarantined = new Set(held.map((h) => h.testKey));
  return keys.length <= 90 && keys.every((k) => quarantined.has(k)) ? keys : null;
}
