// Starting scheduled runs. The Workers cron trigger calls runDueSchedules every minute; each due
// schedule is claimed with one conditional UPDATE (next_run_at must still be the slot we read),
// so a trigger that fires twice, two overlapping invocations, or a late one start each slot once.
// The next slot is computed from now, not from the missed slot: an outage is caught up with one
// run, not one per missed minute.
//
// Fan-out: an invocation may make only so many subrequests (1,000 on the paid plan; every D1 query
// and Durable Object call counts), and starting a run costs up to ~15. So the tick reads what is due
// and hands it, SCHEDULES_PER_STARTER at a time, to ScheduleStarter objects: each call to one is an
// invocation with its own budget, and they run at once, each starting its batch SCHEDULE_CONCURRENCY
// at a time. 1,000 schedules due at :00 cost the tick 21 subrequests and start within seconds.
import { Cron } from 'croner';
import { and, asc, eq, isNotNull, lte } from 'drizzle-orm';
import { auditLogs, schedules } from '../db/schema';
import type { Caller, Env } from '../env';
import { newId } from '../lib/crypto';
import { ApiError } from '../lib/errors';
import { dbOf, scheduleStarterOf, type Db } from '../bindings';
import { createRun } from '../runs/create';

export type ScheduleRow = typeof schedules.$inferSelect;

/**
 * Schedules one ScheduleStarter call starts. A start costs ~7 subrequests (claim, project and plan
 * reads, insert, room, hub, queue) and up to ~15 when it fails and is ended: 50 stay under the
 * 1,000 an invocation may make on the paid plan.
 */
export const SCHEDULES_PER_STARTER = 50;
/**
 * Starts in flight at once within a batch: 50 one after another take ~50 round-trip chains (seconds
 * under load); 10 at a time finish a batch in five, and keep one batch from flooding an org's
 * queue and hub with 50 calls at the same instant.
 */
export const SCHEDULE_CONCURRENCY = 10;
/**
 * Due schedules read per tick: twice the 1,000-at-:00 target, and the tick's own cost stays at one
 * D1 read plus one call per 50. Past it, the rest are still due and start on the next tick.
 */
const MAX_DUE_PER_TICK = 2000;

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

/**
 * Starts every enabled schedule whose slot has come, handing batches to ScheduleStarter objects. A
 * batch whose starter fails is logged; its schedules not yet claimed are still due on the next tick.
 */
export async function runDueSchedules(env: Env, now = Date.now(), db: Db = dbOf(env)): Promise<SchedulerResult> {
  const due = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.enabled, true), isNotNull(schedules.nextRunAt), lte(schedules.nextRunAt, now)))
    .orderBy(asc(schedules.nextRunAt))
    .limit(MAX_DUE_PER_TICK);
  const batches: ScheduleRow[][] = [];
  for (let i = 0; i < due.length; i += SCHEDULES_PER_STARTER) batches.push(due.slice(i, i + SCHEDULES_PER_STARTER));
  const settled = await Promise.allSettled(batches.map((batch, i) => scheduleStarterOf(env, i).start(batch, now)));
  const result: SchedulerResult = { started: [], failed: [] };
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') {
      result.started.push(...s.value.started);
      result.failed.push(...s.value.failed);
    } else console.error(`schedule batch ${i} (${batches[i]!.length} schedules) failed:`, String(s.reason));
  });
  return result;
}

/** Starts `batch` (due schedule rows), SCHEDULE_CONCURRENCY at a time; one schedule's failure is logged and recorded, and the rest go on. */
export async function startSchedules(env: Env, db: Db, batch: ScheduleRow[], now: number): Promise<SchedulerResult> {
  const result: SchedulerResult = { started: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < batch.length) {
      const s = batch[next++]!;
      try {
        const taskId = await startSchedule(env, db, s, now);
        if (taskId) result.started.push({ scheduleId: s.id, taskId });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        result.failed.push({ scheduleId: s.id, error });
        console.error('scheduled run not started', s.id, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCHEDULE_CONCURRENCY, batch.length) }, worker));
  return result;
}

/** Claims and starts one due schedule: its run's taskId, or null when another invocation claimed the slot. */
async function startSchedule(env: Env, db: Db, s: ScheduleRow, now: number): Promise<string | null> {
  if (!(await claim(db, s, s.nextRunAt!, now))) return null;
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
    return run.taskId;
  } catch (err) {
    // The slot stays claimed (no retry storm); the refusal is recorded where admins look.
    const error = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
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
    throw new Error(error);
  }
}
