// One dispatcher per job queue: `org:<id>` for an org's self-hosted agents, `hosted` for the
// platform's fleet. Jobs live in this object's SQLite storage, so an evicted or restarted object
// loses nothing. Agents long-poll; a waiting poll is answered the moment a job it can take arrives.
//
// A job is `queued` until an agent whose labels include all of the job's labels claims it; it is
// then `leased` to that agent until its run's room lets it go. The lease itself (heartbeats, expiry,
// timeout, cancel) lives in the run's ExecutionRoom, so a heartbeat costs the same however many jobs
// this queue has leased, and never comes here. Per run this object hears: enqueue, the claim (a
// poll), and one call at the end from the room: release (reported, or the run ended) or requeue
// (the lease lapsed and attempts remain). The `leased` row stays as the job's copy for a requeue and
// for releaseAbandoned; it is written at claim and at the end, never per heartbeat (its
// lease_expires_at and timeout_at are the values handed to the room, not renewed).
//
// The claim tells the room from here, right after the row is marked leased, and not from the poll's
// route: an agent or a route that dies after the claim cannot leave a lease nobody watches. It is
// not awaited: the poll's answer (dispatch latency) does not wait for another object's write. The
// room has the lease long before the agent can use it (the route writes RUNNING to D1 and the room
// first); were it to miss it, the agent's calls find no lease, it gives the job up, and its next
// poll's `running` list puts the job back (releaseAbandoned).
import { DurableObject } from 'cloudflare:workers';
import { LEASE_TTL_MS } from '../worker/contracts/agent';
import type { PullPolicy } from '../worker/contracts/vocabulary';
import type { Env } from '../worker/env';
import { roomOf } from '../worker/bindings';
import type { LeaseVerdict } from './ExecutionRoom';

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

/** What the Dispatcher last heard from an agent: its poll, and the jobs it said it runs. */
export type AgentSeen = { at: number; running: number };

export class Dispatcher extends DurableObject<Env> {
  private sql: SqlStorage;
  private waiters: Waiter[] = [];
  /**
   * Every poll of this queue's agents passes through here, so a fresh "last seen" lives here, in
   * memory (lost with the object, when D1's copy, at most a minute old, stands in). D1 is written at
   * most once a minute per agent, by polls and heartbeats (routes/agent-protocol.ts markSeen): an
   * agent whose slots are all busy only heartbeats, and D1 keeps it online.
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

  /** A queued job is removed at once. A leased one stays: its room tells the agent (runs/cancel.ts). */
  async cancel(taskId: string): Promise<'removed' | 'leased' | 'unknown'> {
    const row = this.job(taskId);
    if (!row) return 'unknown';
    if (row.state === 'leased') return 'leased';
    this.sql.exec('DELETE FROM jobs WHERE task_id = ?', taskId);
    return 'removed';
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
   * job never reached it) go back at once rather than when their lease lapses. The run's room
   * decides (a cancel or a timeout ends the run instead; so do exhausted attempts).
   */
  private async releaseAbandoned(agentId: string, running: string[]) {
    const held = this.sql
      .exec<{ task_id: string; attempt: number }>("SELECT task_id, attempt FROM jobs WHERE state = 'leased' AND agent_id = ?", agentId)
      .toArray();
    for (const row of held.filter((r) => !running.includes(r.task_id))) {
      const verdict = await roomOf(this.env, row.task_id).abandon(row.attempt, 'the agent no longer runs it: it restarted or never received it');
      this.endLease(row.task_id, row.attempt, verdict);
    }
  }

  /** When each of these agents was last heard from here, and the jobs it said it runs (those heard from since this object started). */
  async agentsSeen(agentIds: string[]): Promise<Record<string, AgentSeen>> {
    return Object.fromEntries(agentIds.flatMap((id) => (this.seen.has(id) ? [[id, this.seen.get(id)!]] : [])));
  }

  // ── the end of a lease (told by the run's room) ─────────────────────────────────────────
  /** The lease of `attempt` lapsed and attempts remain: the job is queued again, for the next agent. */
  async requeue(taskId: string, attempt: number): Promise<void> {
    if (this.endLease(taskId, attempt, 'requeue')) this.wakeWaiters();
  }

  /** The lease of `attempt` ended with its run (reported, cancelled, timed out, given up): the job leaves the queue. */
  async release(taskId: string, attempt: number): Promise<void> {
    this.endLease(taskId, attempt, 'drop');
  }

  /** Applies the room's verdict to the job, if `attempt` still holds it. True when the job changed. */
  private endLease(taskId: string, attempt: number, verdict: LeaseVerdict): boolean {
    const held = "task_id = ? AND attempt = ? AND state = 'leased'";
    if (verdict === 'requeue')
      return (
        this.sql.exec(`UPDATE jobs SET state = 'queued', agent_id = NULL, lease_expires_at = NULL, timeout_at = NULL WHERE ${held}`, taskId, attempt)
          .rowsWritten > 0
      );
    if (verdict === 'drop') return this.sql.exec(`DELETE FROM jobs WHERE ${held}`, taskId, attempt).rowsWritten > 0;
    return false;
  }

  /**
   * The run's room keeps the lease from now on (see the header). A room that refuses it (the run
   * ended or was deleted meanwhile) gets no job; one that cannot be reached gets it back to the queue.
   */
  private watchLease(agentId: string, job: LeasedJob, timeoutAt: number) {
    const grant = { taskId: job.taskId, attempt: job.attempt, agentId, dispatcherId: this.ctx.id.toString(), expiresAt: job.leaseExpiresAt, timeoutAt };
    roomOf(this.env, job.taskId)
      .lease(grant)
      .then(
        ({ refused }) => {
          if (refused) this.endLease(job.taskId, job.attempt, 'drop');
        },
        (err) => {
          console.warn('the run room did not take its lease; the job goes back to the queue', job.taskId, String(err));
          if (this.endLease(job.taskId, job.attempt, 'requeue')) this.wakeWaiters();
        },
      );
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
    const job = { ...payload, labels: JSON.parse(best.labels), attempt, leaseExpiresAt, organizationId: best.org_id };
    this.watchLease(agent.agentId, job, timeoutAt);
    return job;
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
}
