// One dispatcher per job queue: `org:<id>` for an org's self-hosted agents, `hosted` for the
// platform's fleet. Jobs live in this object's SQLite storage, so an evicted or restarted object
// loses nothing. Agents long-poll; a waiting poll is answered the moment a job it can take arrives.
//
// A job is `queued` until an agent whose labels include all of the job's labels claims it; it is
// then `leased` to that agent until the agent completes it. Heartbeats renew the lease; the alarm
// puts back a job whose lease lapsed (up to MAX_JOB_ATTEMPTS, then the run ends ERROR agent_lost),
// asks the agent to stop a run past its timeout, and ends a run whose agent never reported.
import { DurableObject } from 'cloudflare:workers';
import { LEASE_TTL_MS, MAX_JOB_ATTEMPTS } from '../worker/contracts/agent';
import type { PullPolicy } from '../worker/contracts/vocabulary';
import type { Env } from '../worker/env';
import { roomOf } from '../worker/bindings';
import { changeStatus, endRun } from '../worker/runs/lifecycle';

/** What the control plane stores for a job: everything but secrets and lease fields. */
export type JobPayload = {
  taskId: string;
  projectId: string;
  image: string;
  command: string | null;
  tests: string[];
  testFolder: string | null;
  environment: string | null;
  baseUrl: string | null;
  envVars: Record<string, string>;
  timeoutSeconds: number;
  pullPolicy: PullPolicy;
  reportDir: string;
};
export type LeasedJob = JobPayload & { labels: Record<string, string>; attempt: number; leaseExpiresAt: number; organizationId: string };
export type PollingAgent = { agentId: string; organizationId: string; labels: Record<string, string> };

/** After a run's timeout the agent is asked to stop; if it still has not reported this much later, the run ends anyway. */
export const TIMEOUT_GRACE_MS = 2 * 60 * 1000;

type JobRow = {
  task_id: string;
  seq: number;
  org_id: string;
  labels: string;
  payload: string;
  state: 'queued' | 'leased';
  attempt: number;
  agent_id: string | null;
  lease_expires_at: number | null;
  timeout_at: number | null;
  cancel_reason: string | null;
};
type Waiter = { agent: PollingAgent; resolve: (job: LeasedJob | null) => void; timer: ReturnType<typeof setTimeout> };

export const labelsMatch = (job: Record<string, string>, agent: Record<string, string>) => Object.entries(job).every(([k, v]) => agent[k] === v);

/** What the Dispatcher last heard from an agent: its poll or heartbeat, and the jobs it said it runs. */
export type AgentSeen = { at: number; running: number };

export class Dispatcher extends DurableObject<Env> {
  private sql: SqlStorage;
  private waiters: Waiter[] = [];
  /**
   * Every poll and heartbeat of this queue's agents passes through here, so the freshest "last seen"
   * lives here, in memory (lost with the object, when D1's copy, at most a minute old, stands in).
   * D1 is written at most once a minute per agent (routes/agent-protocol.ts markSeen).
   */
  private seen = new Map<string, AgentSeen>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        task_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, org_id TEXT NOT NULL, labels TEXT NOT NULL, payload TEXT NOT NULL,
        state TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, agent_id TEXT, lease_expires_at INTEGER, timeout_at INTEGER,
        cancel_reason TEXT, enqueued_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (state, seq);
      CREATE TABLE IF NOT EXISTS served (org_id TEXT PRIMARY KEY, last_served INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
  }

  // ── producers ────────────────────────────────────────────────────────────────────────────
  async enqueue(job: { organizationId: string; labels: Record<string, string>; payload: JobPayload }): Promise<void> {
    const seq = this.sql
      .exec<{ value: number }>("INSERT INTO counters (name, value) VALUES ('seq', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value")
      .one().value;
    this.sql.exec(
      'INSERT OR IGNORE INTO jobs (task_id, seq, org_id, labels, payload, state, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      job.payload.taskId,
      seq,
      job.organizationId,
      JSON.stringify(job.labels),
      JSON.stringify(job.payload),
      'queued',
      Date.now(),
    );
    this.wakeWaiters();
  }

  /** PENDING: removed at once. RUNNING: the agent is told in its next heartbeat. */
  async cancel(taskId: string, reason: 'cancel' | 'timeout' = 'cancel'): Promise<'removed' | 'requested' | 'unknown'> {
    const row = this.job(taskId);
    if (!row) return 'unknown';
    if (row.state === 'queued') {
      this.sql.exec('DELETE FROM jobs WHERE task_id = ?', taskId);
      return 'removed';
    }
    this.sql.exec('UPDATE jobs SET cancel_reason = COALESCE(cancel_reason, ?) WHERE task_id = ?', reason, taskId);
    return 'requested';
  }

  async stats() {
    const rows = this.sql.exec<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').toArray();
    return { queued: rows.find((r) => r.state === 'queued')?.n ?? 0, leased: rows.find((r) => r.state === 'leased')?.n ?? 0, waiting: this.waiters.length };
  }

  // ── agents ───────────────────────────────────────────────────────────────────────────────
  /** Answers at once with a job the agent can take, or holds the poll up to `waitMs`, then null. */
  async poll(agent: PollingAgent, capacity: number, waitMs: number, running?: string[]): Promise<LeasedJob | null> {
    // An agent has one poll at a time: a new one means its previous poll was abandoned (a drain, a
    // cut connection), and a job must not be handed to a request nobody reads any more.
    for (const w of this.waiters.filter((w) => w.agent.agentId === agent.agentId)) {
      clearTimeout(w.timer);
      w.resolve(null);
    }
    this.waiters = this.waiters.filter((w) => w.agent.agentId !== agent.agentId);
    this.seen.set(agent.agentId, { at: Date.now(), running: running?.length ?? this.seen.get(agent.agentId)?.running ?? 0 });
    if (running) await this.releaseAbandoned(agent.agentId, running);
    if (capacity <= 0) return null;
    const job = this.claim(agent);
    if (job || waitMs <= 0) return job;
    return new Promise<LeasedJob | null>((resolve) => {
      const waiter: Waiter = {
        agent,
        resolve,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(null);
        }, waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Jobs leased to this agent that it no longer runs (it restarted, or a poll answer carrying the
   * job never reached it) go back at once rather than when their lease lapses.
   */
  private async releaseAbandoned(agentId: string, running: string[]) {
    const now = Date.now();
    const held = this.sql.exec<JobRow>("SELECT * FROM jobs WHERE state = 'leased' AND agent_id = ?", agentId).toArray();
    const gone = held.filter((row) => !running.includes(row.task_id));
    for (const row of gone) await this.endLease(row, now, 'the agent no longer runs it: it restarted or never received it');
    if (gone.length) await this.scheduleAlarm();
  }

  /** Renews the lease. Null when the job is not leased to this agent (lost, cancelled, reassigned). */
  async heartbeat(
    agentId: string,
    taskId: string,
  ): Promise<{ cancel: boolean; reason?: 'cancel' | 'timeout'; leaseExpiresAt: number; attempt: number } | null> {
    const row = this.job(taskId);
    if (row?.state !== 'leased' || row.agent_id !== agentId) return null;
    const heard = this.seen.get(agentId);
    this.seen.set(agentId, { at: Date.now(), running: heard?.running ?? 1 });
    const leaseExpiresAt = Date.now() + LEASE_TTL_MS;
    this.sql.exec('UPDATE jobs SET lease_expires_at = ? WHERE task_id = ?', leaseExpiresAt, taskId);
    await this.scheduleAlarm();
    const reason = row.cancel_reason as 'cancel' | 'timeout' | null;
    return { cancel: reason !== null, ...(reason ? { reason } : {}), leaseExpiresAt, attempt: row.attempt };
  }

  /** When each of these agents was last heard from here, and the jobs it said it runs (those heard from since this object started). */
  async agentsSeen(agentIds: string[]): Promise<Record<string, AgentSeen>> {
    return Object.fromEntries(agentIds.flatMap((id) => (this.seen.has(id) ? [[id, this.seen.get(id)!]] : [])));
  }

  /** The attempt number if `agentId` holds the lease of `taskId`, else null. */
  async leaseOf(agentId: string, taskId: string): Promise<number | null> {
    const row = this.job(taskId);
    return row?.state === 'leased' && row.agent_id === agentId ? row.attempt : null;
  }

  /** The agent reports the end of the job: the job leaves the queue. Null if the lease was not its own. */
  async complete(agentId: string, taskId: string): Promise<{ attempt: number; cancelReason: string | null } | null> {
    const row = this.job(taskId);
    if (row?.state !== 'leased' || row.agent_id !== agentId) return null;
    this.sql.exec('DELETE FROM jobs WHERE task_id = ?', taskId);
    await this.scheduleAlarm();
    return { attempt: row.attempt, cancelReason: row.cancel_reason };
  }

  // ── matching ─────────────────────────────────────────────────────────────────────────────
  /**
   * Leases the best queued job this agent can take: FIFO within an org; across orgs (the hosted
   * queue) the org served least recently goes first, so one org's backlog cannot starve another.
   */
  private claim(agent: PollingAgent): LeasedJob | null {
    const served = new Map(
      this.sql
        .exec<{ org_id: string; last_served: number }>('SELECT org_id, last_served FROM served')
        .toArray()
        .map((r) => [r.org_id, r.last_served]),
    );
    let best: JobRow | undefined;
    const seenOrgs = new Set<string>();
    for (const row of this.sql.exec<JobRow>("SELECT * FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 5000")) {
      if (seenOrgs.has(row.org_id) || !labelsMatch(JSON.parse(row.labels), agent.labels)) continue;
      seenOrgs.add(row.org_id);
      if (!best || (served.get(row.org_id) ?? 0) < (served.get(best.org_id) ?? 0)) best = row;
    }
    if (!best) return null;
    const now = Date.now();
    const payload = JSON.parse(best.payload) as JobPayload;
    const attempt = best.attempt + 1;
    const leaseExpiresAt = now + LEASE_TTL_MS;
    const timeoutAt = now + payload.timeoutSeconds * 1000;
    this.sql.exec(
      "UPDATE jobs SET state = 'leased', agent_id = ?, attempt = ?, lease_expires_at = ?, timeout_at = ? WHERE task_id = ?",
      agent.agentId,
      attempt,
      leaseExpiresAt,
      timeoutAt,
      best.task_id,
    );
    this.sql.exec(
      'INSERT INTO served (org_id, last_served) VALUES (?, ?) ON CONFLICT(org_id) DO UPDATE SET last_served = excluded.last_served',
      best.org_id,
      now,
    );
    void this.scheduleAlarm();
    return { ...payload, labels: JSON.parse(best.labels), attempt, leaseExpiresAt, organizationId: best.org_id };
  }

  /** Hands queued jobs to waiting polls, oldest poll first. */
  private wakeWaiters() {
    for (const waiter of [...this.waiters]) {
      const job = this.claim(waiter.agent);
      if (!job) continue;
      clearTimeout(waiter.timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(job);
    }
  }

  private job(taskId: string): JobRow | undefined {
    return this.sql.exec<JobRow>('SELECT * FROM jobs WHERE task_id = ?', taskId).toArray()[0];
  }

  // ── time ─────────────────────────────────────────────────────────────────────────────────
  private async scheduleAlarm() {
    const next = this.sql
      .exec<{ at: number | null }>(`
      SELECT MIN(at) AS at FROM (
        SELECT lease_expires_at AS at FROM jobs WHERE state = 'leased'
        UNION ALL SELECT timeout_at FROM jobs WHERE state = 'leased' AND cancel_reason IS NULL
        UNION ALL SELECT timeout_at + ${TIMEOUT_GRACE_MS} FROM jobs WHERE state = 'leased')`)
      .one().at;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 10));
  }

  override async alarm() {
    const now = Date.now();
    // Runs past their timeout: ask the agent to stop (it reports TIMED_OUT).
    this.sql.exec("UPDATE jobs SET cancel_reason = 'timeout' WHERE state = 'leased' AND cancel_reason IS NULL AND timeout_at <= ?", now);

    const lapsed = this.sql
      .exec<JobRow>("SELECT * FROM jobs WHERE state = 'leased' AND (lease_expires_at <= ? OR timeout_at + ? <= ?)", now, TIMEOUT_GRACE_MS, now)
      .toArray();
    for (const row of lapsed) await this.endLease(row, now);
    this.wakeWaiters();
    await this.scheduleAlarm();
  }

  /** The agent stopped heartbeating (or never reported after a timeout): end or requeue the run. */
  private async endLease(row: JobRow, now: number, why = `no heartbeat for ${LEASE_TTL_MS / 1000} s`) {
    const overdue = row.timeout_at !== null && row.timeout_at + TIMEOUT_GRACE_MS <= now;
    await roomOf(this.env, row.task_id).closeAttempt(row.attempt);
    if (row.cancel_reason || overdue) {
      this.sql.exec('DELETE FROM jobs WHERE task_id = ?', row.task_id);
      const timedOut = overdue || row.cancel_reason === 'timeout';
      await endRun(this.env, row.task_id, timedOut ? 'TIMED_OUT' : 'CANCELLED', {
        from: ['PENDING', 'RUNNING'],
        patch: { reason: timedOut ? 'timeout' : 'cancel' },
        note: timedOut ? 'run timed out and its agent did not report back' : 'run cancelled; its agent did not report back',
      });
    } else if (row.attempt >= MAX_JOB_ATTEMPTS) {
      this.sql.exec('DELETE FROM jobs WHERE task_id = ?', row.task_id);
      await endRun(this.env, row.task_id, 'ERROR', {
        from: ['PENDING', 'RUNNING'],
        patch: { reason: 'agent_lost' },
        note: `agent lost ${row.attempt} times (last: ${why}); giving up`,
      });
    } else {
      this.sql.exec("UPDATE jobs SET state = 'queued', agent_id = NULL, lease_expires_at = NULL, timeout_at = NULL WHERE task_id = ?", row.task_id);
      await changeStatus(this.env, row.task_id, 'PENDING', {
        from: ['RUNNING', 'PENDING'],
        patch: { reason: 'requeued', agentId: null },
        note: `agent lost (${why}); job requeued, attempt ${row.attempt + 1} of ${MAX_JOB_ATTEMPTS}`,
      });
    }
  }
}
