// Starts one batch of due schedules for the cron tick (worker/services/scheduler.ts). It is here for
// its invocation: every call to a Durable Object gets its own subrequest budget (1,000 on the paid
// plan), so the tick hands each 50 due schedules to a starter and they all start in parallel, where
// the tick alone could start ~60 a minute. It keeps nothing: the schedule rows are the state, and
// their conditional claim makes a batch handed out twice (an overlapping tick) start each slot once.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../worker/env';
import { dbOf } from '../worker/bindings';
import { type ScheduleRow, type SchedulerResult, startSchedules } from '../worker/services/scheduler';

export class ScheduleStarter extends DurableObject<Env> {
  async start(batch: ScheduleRow[], now: number): Promise<SchedulerResult> {
    return startSchedules(this.env, dbOf(this.env), batch, now);
  }
}
