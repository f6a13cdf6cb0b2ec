// The Worker's bindings, reached one way: D1 through drizzle (one `Db` type everywhere), and each
// Durable Object by the name it is keyed on. Routes, services and the Durable Objects import this
// small module rather than a service, so a Durable Object pulls in no route or service by accident.
import { drizzle } from 'drizzle-orm/d1';
import * as schema from './db/schema';
import type { Env } from './env';
import { loggingD1 } from './lib/d1-statement-log';

export type Db = ReturnType<typeof drizzle<typeof schema>>;

// drizzle builds its table config from the schema on every construction (measurable on the ingest hot
// path), so each isolate makes one per D1 binding.
const dbs = new WeakMap<D1Database, Db>();
export function dbOf(env: Pick<Env, 'DB' | 'D1_STATEMENT_LOG'>): Db {
  let db = dbs.get(env.DB);
  if (!db) {
    db = drizzle(d1Of(env), { schema });
    dbs.set(env.DB, db);
  }
  return db;
}

/**
 * D1 through one Sessions API session (middleware/d1-session.ts): reads may go to a replica at least as
 * fresh as `constraint`'s bookmark. A drizzle per request, built without the schema's relational config
 * (nothing here uses `db.query`), which is what makes construction cheap.
 */
export function sessionDbOf(env: Pick<Env, 'DB' | 'D1_STATEMENT_LOG'>, constraint: string): { db: Db; bookmark: () => string | null } {
  const session = d1Of(env).withSession(constraint);
  return { db: drizzle(session as unknown as D1Database) as unknown as Db, bookmark: () => session.getBookmark() };
}

const logged = new WeakMap<D1Database, D1Database>();
function d1Of(env: Pick<Env, 'DB' | 'D1_STATEMENT_LOG'>): D1Database {
  if (env.D1_STATEMENT_LOG !== 'true') return env.DB;
  let d1 = logged.get(env.DB);
  if (!d1) {
    d1 = loggingD1(env.DB);
    logged.set(env.DB, d1);
  }
  return d1;
}

/** A run's room: its log, live results and viewers (durable-objects/ExecutionRoom.ts), keyed by taskId. */
export const roomOf = (env: Env, taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId));

/**
 * A shard of an org's hub: the live run list of its dashboards (durable-objects/OrgHub.ts). The home
 * shard, 0, is named by the org alone (it takes publishes, tickets and room sessions); shard i by `org#i`.
 */
export const hubOf = (env: Env, organizationId: string, shard = 0) =>
  env.ORG_HUB.get(env.ORG_HUB.idFromName(shard ? `${organizationId}#${shard}` : organizationId));

/** The queue a run waits in: an org's own agents, or the hosted fleet shared by every org. */
export const queueName = (kind: 'org' | 'hosted', organizationId: string) => (kind === 'hosted' ? 'hosted' : `org:${organizationId}`);

/** A queue's Dispatcher (durable-objects/Dispatcher.ts): its jobs and leases. */
export const dispatcherOf = (env: Env, queue: string) => env.DISPATCHER.get(env.DISPATCHER.idFromName(queue));

/**
 * One of the objects the cron tick hands a batch of due schedules to (durable-objects/ScheduleStarter.ts),
 * by the batch's place in the tick: each call is an invocation with its own subrequest budget.
 */
export const scheduleStarterOf = (env: Env, batch: number) => env.SCHEDULE_STARTER.get(env.SCHEDULE_STARTER.idFromName(`batch:${batch}`));
