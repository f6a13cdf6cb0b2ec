// One dispatcher per job queue: `org:<id>` for an org's self-hosted agents, `hosted` for the
// platform's fleet. Jobs live in this object's SQLite storage, so an evicted or restarted object
// loses nothing. Agents long-poll; a waiting poll is answered the moment a job it can take arrives.
//
// A job is `queued` until an agent whose labels include all of the job's labels claims it; it is
// then `leased` to that agent until the agent completes it. Heartbeats renew the lease; the alarm
// puts back a job whose lease lapsed (up to MAX_JOB_ATTEMPTS, then the run ends ERROR agent_lost),
// asks the agent to stop a run past its timeout, and ends a run whose agent never reported.
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
    void this.scheduleAlarm();
    return { ...payload, labels: this.parsedSet(best.labels), attempt, leaseExpiresAt, organizationId: best.org_id };
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
