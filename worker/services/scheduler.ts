// Starting scheduled runs. The Workers cron trigger calls runDueSchedules every minute; each due
// schedule is claimed with one conditional UPDATE (next_run_at must still be the slot we read),
// so a trigger that fires twice, two overlapping invocations, or a late one start each slot once.
// The next slot is computed from now, not from the missed slot: an outage is caught up with one
// run, not one per missed minute.
import { Cron } from 'croner';
import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import { auditLogs, schedules } from '../db/schema';
import type { Caller, Env } from '../env';
import { newId } from '../lib/crypto';
import { ApiError } from '../lib/errors';
import { dbOf, type Db } from '../bindings';
import { createRun } from '../runs/create';

export type ScheduleRow = typeof schedules.$inferSelect;

/** At most this many schedules are started per invocation; the rest are due on the next minute. */
const BATCH = 50;

/** The first slot strictly after `after` (epoch ms), or null when the expression never fires again. */
export function nextSlot(cron: string, timezone: string, after: number): number | null {
  const next = new Cron(cron, { timezone, paused: true }).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** The next `count` slots after `after`. */
export function nextSlots(cron: string, timezone: string, after: number, count: number): number[] {
  return new Cron(cron, { timezone, paused: true }).nextRuns(count, new Date(after)).map((d) => d.getTime());
}

/** The schedule as the API shows it, with its upcoming run times. */
export function publicSchedule(s: ScheduleRow, now = Date.now()) {
  return { ...s, nextRuns: s.enabled ? nextSlots(s.cron, s.timezone, now - 1, 5) : [] };
}

/** Runs started by a schedule are attributed to whoever created it. */
const scheduleCaller = (s: ScheduleRow): Caller => ({
  kind: 'user',
  userId: s.createdBy ?? `schedule:${s.id}`,
  organizationId: s.organizationId,
  role: 'developer',
  jti: `schedule:${s.id}`,
  exp: 0,
});

/** Claims the slot `due` of schedule `s`: true for exactly one caller per slot. */
async function claim(db: Db, s: ScheduleRow, due: number, now: number): Promise<boolean> {
  let next: number | null = null;
  try {
    next = nextSlot(s.cron, s.timezone, now);
  } catch {
    next = null; // an expression that no longer parses (e.g. a time zone removed from ICU) stops, it does not loop
  }
  const claimed = await db
    .update(schedules)
    .set({ nextRunAt: next, lastRunAt: due, updatedAt: now, ...(next === null ? { enabled: false } : {}) })
    .where(and(eq(schedules.id, s.id), eq(schedules.enabled, true), eq(schedules.nextRunAt, due)))
    .returning({ id: schedules.id });
  return claimed.length === 1;
}

export type SchedulerResult = { started: Array<{ scheduleId: string; taskId: string }>; failed: Array<{ scheduleId: string; error: string }> };

/** Starts every enabled schedule whose slot has come. */
export async function runDueSchedules(env: Env, now = Date.now(), db: Db = dbOf(env)): Promise<SchedulerResult> {
  const due = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.enabled, true), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
    .orderBy(asc(schedules.nextRunAt))
    .limit(BATCH);
  const result: SchedulerResult = { started: [], failed: [] };
  for (const s of due) {
    if (!(await claim(db, s, s.nextRunAt!, now))) continue;
    try {
      const run = await createRun(
        env,
        db,
        scheduleCaller(s),
        {
          projectId: s.projectId,
          queue: 'org',
          ...(s.environment ? { environment: s.environment } : {}),
          ...(s.image ? { image: s.image } : {}),
          ...(s.folder ? { tests: [s.folder] } : {}),
          ...(s.baseUrl ? { baseUrl: s.baseUrl } : {}),
          ...(s.labels ? { labels: s.labels } : {}),
        },
        { trigger: 'schedule', scheduleId: s.id },
      );
      result.started.push({ scheduleId: s.id, taskId: run.taskId });
    } catch (err) {
      // The slot stays claimed (no retry storm); the refusal is recorded where admins look.
      const error = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
      result.failed.push({ scheduleId: s.id, error });
      console.warn('scheduled run not started', s.id, error);
      // The project is gone: the schedule can never run again, so it is paused rather than failing every slot.
      if (err instanceof ApiError && err.code === 'NOT_FOUND') {
        await db.update(schedules).set({ enabled: false, nextRunAt: null, updatedAt: now }).where(eq(schedules.id, s.id));
      }
      await db
        .insert(auditLogs)
        .values({
          id: newId(),
          organizationId: s.organizationId,
          userId: null,
          action: 'schedule.run_failed',
          targetType: 'schedule',
          targetId: s.id,
          details: { error, slot: s.nextRunAt },
          ip: null,
          createdAt: now,
        })
        .catch(() => undefined);
    }
  }
  return result;
}
