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
//
// The hosted queue is split into shards, one Dispatcher each (worker/runs/queue.ts): a job lives in
// the shard its taskId hashes to, an agent waits in the shard its id hashes to and takes from the
// others when its own has nothing for it.
//
// Matching without a scan. A claim must find, among everything queued, a job whose labels the agent
// has, whatever is queued ahead of it (10,000 amd64 jobs must not hide the one arm64 job). Jobs are
// stored with their canonical labels (sorted JSON), and two small tables index the queue by them,
// kept by SQLite triggers whatever changes a job's state (enqueue, claim, cancel, a lease put back):
//   label_sets: each distinct label set with queued jobs, and how many (a handful);
//   lanes:      each (label set, org) with queued jobs, with when that org was last served.
// A claim reads label_sets, keeps the sets the agent's labels include, takes in each the lane served
// least recently (an index seek), and leases the chosen org's oldest job in those sets (a seek per
// set): O(sets · log n), nothing read ahead. FIFO within an org; across orgs the least recently
// served org goes first (`served` remembers it after its lanes empty), so fairness holds as before.
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
/** A poll's answer: a job, nothing within the wait, or "try shard `steal`": a job it can take was queued there. */
export type PollAnswer = LeasedJob | { steal: string } | null;
type Waiter = { agent: PollingAgent; resolve: (answer: PollAnswer) => void; timer: ReturnType<typeof setTimeout> };

export const labelsMatch = (job: Record<string, string>, agent: Record<string, string>) => Object.entries(job).every(([k, v]) => agent[k] === v);
/** The one spelling of a label set: JSON with its keys sorted, so equal sets share one index entry. */
const labelKey = (labels: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));

/** The statements that keep label_sets and lanes in step when a job joins (`NEW`) or leaves (`OLD`) the queued state. */
const joinsQueue = `
  INSERT INTO label_sets (labels, queued) VALUES (NEW.labels, 1) ON CONFLICT(labels) DO UPDATE SET queued = queued + 1;
  INSERT OR IGNORE INTO lanes (labels, org_id, last_served, first_seq)
    VALUES (NEW.labels, NEW.org_id, COALESCE((SELECT last_served FROM served WHERE org_id = NEW.org_id), 0), NEW.seq);`;
const leavesQueue = `
  UPDATE label_sets SET queued = queued - 1 WHERE labels = OLD.labels;
  DELETE FROM label_sets WHERE labels = OLD.labels AND queued <= 0;
  DELETE FROM lanes WHERE labels = OLD.labels AND org_id = OLD.org_id
    AND NOT EXISTS (SELECT 1 FROM jobs WHERE state = 'queued' AND labels = OLD.labels AND org_id = OLD.org_id);`;

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
      CREATE INDEX IF NOT EXISTS jobs_lane ON jobs (state, labels, org_id, seq);
      CREATE TABLE IF NOT EXISTS served (org_id TEXT PRIMARY KEY, last_served INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    `);
    this.indexQueue();
  }

  /** The label index (see the header), built once over the jobs an older version of this object queued. */
  private indexQueue() {
    const built = this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lanes'").toArray().length > 0;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS label_sets (labels TEXT PRIMARY KEY, queued INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS lanes (labels TEXT NOT NULL, org_id TEXT NOT NULL, last_served INTEGER NOT NULL, first_seq INTEGER NOT NULL,
        PRIMARY KEY (labels, org_id));
      CREATE INDEX IF NOT EXISTS lanes_next ON lanes (labels, last_served, first_seq);
      CREATE INDEX IF NOT EXISTS lanes_org ON lanes (org_id);
      CREATE TRIGGER IF NOT EXISTS job_enqueued AFTER INSERT ON jobs WHEN NEW.state = 'queued' BEGIN ${joinsQueue} END;
      CREATE TRIGGER IF NOT EXISTS job_requeued AFTER UPDATE OF state ON jobs WHEN NEW.state = 'queued' AND OLD.state <> 'queued' BEGIN ${joinsQueue} END;
      CREATE TRIGGER IF NOT EXISTS job_leased AFTER UPDATE OF state ON jobs WHEN OLD.state = 'queued' AND NEW.state <> 'queued' BEGIN ${leavesQueue} END;
      CREATE TRIGGER IF NOT EXISTS job_removed AFTER DELETE ON jobs WHEN OLD.state = 'queued' BEGIN ${leavesQueue} END;
    `);
    if (built) return;
    this.sql.exec(`
      INSERT INTO label_sets (labels, queued) SELECT labels, COUNT(*) FROM jobs WHERE state = 'queued' GROUP BY labels;
      INSERT INTO lanes (labels, org_id, last_served, first_seq)
        SELECT labels, org_id, COALESCE((SELECT last_served FROM served s WHERE s.org_id = j.org_id), 0), MIN(seq)
        FROM jobs j WHERE state = 'queued' GROUP BY labels, org_id;`);
  }

  // ── producers ────────────────────────────────────────────────────────────────────────────
  /** True when a waiting poll here took the job at once. */
  async enqueue(job: { organizationId: string; labels: Record<string, string>; payload: JobPayload }): Promise<boolean> {
    const seq = this.sql
      .exec<{ value: number }>("INSERT INTO counters (name, value) VALUES ('seq', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value")
      .one().value;
    this.sql.exec(
      'INSERT OR IGNORE INTO jobs (task_id, seq, org_id, labels, payload, state, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      job.payload.taskId,
      seq,
      job.organizationId,
      labelKey(job.labels),
      JSON.stringify(job.payload),
      'queued',
      Date.now(),
    );
    return this.wakeWaiters().includes(job.payload.taskId);
  }

  /**
   * A job with these labels was queued in another shard and nobody waiting there could take it: the
   * oldest poll here that can take it is answered "steal from `shard`" (its route claims it there, or
   * waits again if another agent was quicker). True when a poll was told.
   */
  async offer(shard: string, labels: Record<string, string>): Promise<boolean> {
    const waiter = this.waiters.find((w) => labelsMatch(labels, w.agent.labels));
    if (!waiter) return false;
    clearTimeout(waiter.timer);
    this.waiters = this.waiters.filter((w) => w !== waiter);
    waiter.resolve({ steal: shard });
    return true;
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
  /** Answers at once with a job the agent can take, or holds the poll up to `waitMs` (an offer may end it early), then null. */
  async poll(agent: PollingAgent, capacity: number, waitMs: number, running?: string[]): Promise<PollAnswer> {
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
    return new Promise<PollAnswer>((resolve) => {
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
  /** Parsed label sets: a claim tests each queued set against the agent's labels. */
  private parsedSets = new Map<string, Record<string, string>>();

  /**
   * Leases the best queued job this agent can take: FIFO within an org; across orgs (the hosted
   * queue) the org served least recently goes first, so one org's backlog cannot starve another.
   * Index seeks only (see the header): the queue ahead of the job is never read.
   */
  private claim(agent: PollingAgent): LeasedJob | null {
    const sets = this.sql
      .exec<{ labels: string }>('SELECT labels FROM label_sets')
      .toArray()
      .map((r) => r.labels)
      .filter((key) => labelsMatch(this.parsedSet(key), agent.labels));
    let lane: { org_id: string; last_served: number; first_seq: number } | undefined;
    for (const key of sets) {
      const next = this.sql
        .exec<{ org_id: string; last_served: number; first_seq: number }>(
          'SELECT org_id, last_served, first_seq FROM lanes WHERE labels = ? ORDER BY last_served, first_seq LIMIT 1',
          key,
        )
        .toArray()[0];
      if (next && (!lane || next.last_served < lane.last_served || (next.last_served === lane.last_served && next.first_seq < lane.first_seq))) lane = next;
    }
    if (!lane) return null;
    let best: JobRow | undefined;
    for (const key of sets) {
      const oldest = this.sql
        .exec<JobRow>("SELECT * FROM jobs WHERE state = 'queued' AND labels = ? AND org_id = ? ORDER BY seq LIMIT 1", key, lane.org_id)
        .toArray()[0];
      if (oldest && (!best || oldest.seq < best.seq)) best = oldest;
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
    this.sql.exec('UPDATE lanes SET last_served = ? WHERE org_id = ?', now, best.org_id);
    const job = { ...payload, labels: this.parsedSet(best.labels), attempt, leaseExpiresAt, organizationId: best.org_id };
    this.watchLease(agent.agentId, job, timeoutAt);
    return job;
  }

  private parsedSet(key: string): Record<string, string> {
    let labels = this.parsedSets.get(key);
    if (!labels) {
      if (this.parsedSets.size >= 10_000) this.parsedSets.clear();
      labels = JSON.parse(key) as Record<string, string>;
      this.parsedSets.set(key, labels);
    }
    return labels;
  }

  /** Hands queued jobs to waiting polls, oldest poll first. The taskIds handed out. */
  private wakeWaiters(): string[] {
    const handed: string[] = [];
    for (const waiter of [...this.waiters]) {
      const job = this.claim(waiter.agent);
      if (!job) continue;
      clearTimeout(waiter.timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(job);
      handed.push(job.taskId);
    }
    return handed;
  }

  private job(taskId: string): JobRow | undefined {
    return this.sql.exec<JobRow>('SELECT * FROM jobs WHERE task_id = ?', taskId).toArray()[0];
  }
}
