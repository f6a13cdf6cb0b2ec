// One room per execution (idFromName(taskId)). The room is the whole story of a run's live data:
// it stores the numbered log and the per-test results in its SQLite storage, acks the agent's
// chunks, and fans every batch out to the viewers' WebSockets (hibernation API).
//
// Sequence numbers: the room numbers its log itself (1, 2, 3, … with no gaps). An agent numbers
// the chunks of its own stream per attempt; the room keeps how far each attempt's stream is
// stored contiguously, so a resent chunk is ignored and a chunk after a gap waits for the gap.
//
// Closing: once the run has ended (finish(), an ANALYZING move, an ingest teardown's end()) the room
// takes no more data from agents and reporters (RUN_ENDED), only the control plane's notes and
// status; once purged it keeps a one-row tombstone and takes nothing at all (RUN_DELETED), so a late
// write cannot bring a deleted run's log back. Both answers come from memory, on the write path.
//
// Slow viewers: each viewer acknowledges the last seq it rendered (ViewerAck, about once a second).
// The room counts what it sent a viewer since that seq; past VIEWER_MAX_UNACKED_BYTES the viewer is
// sent a `resync` and closed (LIVE_RESYNC), and it comes back with since=<last seq> for the stored log.
// Workerd's WebSocket has no bufferedAmount to watch, so the viewer's own acks are the signal.
//
// Lease: an agent's run is leased by the queue's Dispatcher (claim), which records the lease here
// (lease()); from then on the room, not the Dispatcher, keeps it. Heartbeats renew it here (one
// UPDATE of one row: a heartbeat costs the same however many runs a queue holds), and every agent
// call (stream, logs, artifacts, complete) is checked against it here, in the call that stores the
// data. A member's cancel and the run's timeout are recorded here and told in the next heartbeat.
// The room's one alarm is the earliest of: the lease's expiry, the run's timeout (then timeout +
// TIMEOUT_GRACE_MS), and the log's retention. Heartbeats do not move it: it fires at the expiry it
// was set for, finds the lease renewed and re-arms (one alarm a minute per running run, instead of
// an alarm write per heartbeat). A lapsed lease closes its attempt and either ends the run
// (cancelled, overdue, attempts exhausted: worker/runs/lifecycle.ts) or puts the job back, which
// the room asks of the Dispatcher that leased it (requeue). A reported run's lease is released
// here, and the room tells that Dispatcher too: the Dispatcher hears of a run once at its start
// (claim) and once at its end.
import { DurableObject } from 'cloudflare:workers';
import {
  AgentLogFrame,
  DEFAULT_LOG_MAX_BYTES,
  type HeartbeatResponse,
  LEASE_TTL_MS,
  type LogAck,
  MAX_JOB_ATTEMPTS,
  TIMEOUT_GRACE_MS,
} from '../worker/contracts/agent';
import { LIVE_ACCESS_ENDED, LIVE_RESYNC, type LiveHolder, type RoomMessage, ViewerAck } from '../worker/contracts/live';
import type { LogChunk, StoredLogChunk, TestResult } from '../worker/contracts/results';
import type { ExecutionStatus } from '../worker/db/schema';
import type { Env } from '../worker/env';
import { dbOf, hubOf } from '../worker/bindings';
import { errorResponse, leaseNotHeld, notFound } from '../worker/lib/errors';
import { holderTag, holderTags } from './OrgHub';
import { runExpiry } from '../worker/services/retention';
import { changeStatus, endRun } from '../worker/runs/lifecycle';

/** Past the cap on a run's stored log (LOG_MAX_BYTES, default 20 MiB) one marker line is stored and further output is dropped. */
export { DEFAULT_LOG_MAX_BYTES };
/** Viewers get batches at most this often. */
const FLUSH_INTERVAL_MS = 20;
/** Backlog frames sent to a (re)connecting viewer hold at most this many bytes of log. */
const BACKLOG_FRAME_BYTES = 256 * 1024;
const DEFAULT_RETENTION_DAYS = 30;
/**
 * A live viewer may leave at most this much sent output unacknowledged. A healthy one acks every
 * second, and a run's whole stored log is capped at 20 MiB, so no run keeps up more than about 1 MiB/s
 * for long: 2 MiB is a couple of seconds of the fastest output. Past it the viewer is not keeping up,
 * and what the room sent it waits in the room's memory (128 MB per object, shared by every viewer).
 * Acks measure what the page has applied, so a tab busy with a burst can pass it too (web/e2e/big-log:
 * 100k lines pushed at once, once on a loaded machine); it resyncs and loses nothing.
 * The backlog a viewer gets on connect is not counted: it is bounded by the log cap and sent once.
 */
const VIEWER_MAX_UNACKED_BYTES = 2 * 1024 * 1024;

type Line = { stream: StoredLogChunk['stream']; data: string; ts: number };
/** Why the room refuses a write: the run has ended (agents and reporters), or it was deleted (everyone). */
export type RoomClosed = 'RUN_ENDED' | 'RUN_DELETED';
export type RoomApply = {
  /** Who sent the data: agent and reporter writes are refused once the run has ended; the control plane's are not. */
  from?: 'agent' | 'reporter';
  /** The run is over (with ANALYZING: its analysis follows): agents and reporters may write no more. */
  ends?: boolean;
  /** An id for the whole batch: a batch id seen before is not applied again. */
  batchId?: string;
  /** Agent chunks, numbered by the agent within `attempt`. */
  chunks?: LogChunk[];
  attempt?: number;
  /** Lines the room numbers itself (ingest logs, control-plane notes). */
  lines?: Line[];
  tests?: TestResult[];
  status?: { status: ExecutionStatus; reason?: string | null };
  /** The agent that must hold the run's lease: its attempt numbers the chunks (and is returned). Without the lease nothing is stored. */
  holder?: string;
};
/** A viewer opened by a member's session carries it, so that the session's end closes the socket (OrgHub.closeSockets). */
type SocketAttachment =
  | {
      role: 'viewer';
      holder?: { organizationId: string; taskId: string; sessionId: string; userId: string };
      /** The last seq of the backlog it was sent on connect: live output (what acks are counted against) follows it. */
      liveAfter?: number;
    }
  | { role: 'agent'; attempt: number };

/**
 * The room's counters, kept in memory (loaded once per wake-up) and written to `meta` once per
 * batch: a line costs one INSERT, not a read and a write of each counter.
 */
type Counters = { lastSeq: number; bytes: number; truncated: boolean; status: ExecutionStatus | null; closed: RoomClosed | null };
/** A write's answer: how far `attempt`'s agent stream is stored, whether the batch id was seen, and why nothing was stored. */
export type RoomWrite = { upTo: number; duplicate: boolean; refused?: RoomClosed; leaseNotHeld?: true; attempt?: number };

/** What the Dispatcher's claim hands the room: who holds which attempt, until when, and which Dispatcher to tell when it ends. */
export type LeaseGrant = { taskId: string; attempt: number; agentId: string; dispatcherId: string; expiresAt: number; timeoutAt: number };
/** What the queue does with a job whose lease ended: put it back, drop it (the run ended), or nothing (another attempt or end is under way). */
export type LeaseVerdict = 'requeue' | 'drop' | 'stale';
type LeaseRow = {
  attempt: number;
  agent_id: string;
  dispatcher_id: string;
  expires_at: number;
  timeout_at: number;
  cancel_reason: 'cancel' | 'timeout' | null;
  /** Set before the lease's end is carried out: heartbeats are refused from then on, and an interrupted end is redone by the next alarm. */
  ending: number;
};

export class ExecutionRoom extends DurableObject<Env> {
  private sql: SqlStorage;
  private counters: Counters;
  private pendingChunks: StoredLogChunk[] = [];
  private pendingTests = new Map<string, TestResult>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Highest seq already broadcast (or stored, after a wake-up: nothing is pending then). */
  private broadcastUpTo: number;
  /**
   * Bytes sent to each viewer since the seq it last acknowledged; `behind` once it was dropped. In
   * memory: after a hibernation a viewer starts from 0, which still bounds what it can hold up.
   */
  private unacked = new WeakMap<WebSocket, number | 'behind'>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.createTables();
    this.counters = this.loadCounters();
    this.broadcastUpTo = this.counters.lastSeq;
  }

  private createTables() {
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, data TEXT NOT NULL, ts INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS agent_streams (attempt INTEGER PRIMARY KEY, up_to INTEGER NOT NULL, closed INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS agent_pending (attempt INTEGER NOT NULL, seq INTEGER NOT NULL, stream TEXT NOT NULL, data TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (attempt, seq));
      CREATE TABLE IF NOT EXISTS tests (test_id TEXT NOT NULL, retry INTEGER NOT NULL, result TEXT NOT NULL, PRIMARY KEY (test_id, retry));
      CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS lease (attempt INTEGER PRIMARY KEY, agent_id TEXT NOT NULL, dispatcher_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
        timeout_at INTEGER NOT NULL, cancel_reason TEXT, ending INTEGER NOT NULL DEFAULT 0);
    `);
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────
  private meta(key: string): string | undefined {
    return this.sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key).toArray()[0]?.value;
  }
  private setMeta(key: string, value: string | number) {
    this.sql.exec('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value', key, String(value));
  }
  private loadCounters(): Counters {
    const m = new Map(
      this.sql
        .exec<{ key: string; value: string }>("SELECT key, value FROM meta WHERE key IN ('lastSeq', 'bytes', 'truncated', 'status', 'closed')")
        .toArray()
        .map((r) => [r.key, r.value]),
    );
    return {
      lastSeq: Number(m.get('lastSeq') ?? 0),
      bytes: Number(m.get('bytes') ?? 0),
      truncated: m.get('truncated') === '1',
      status: (m.get('status') as ExecutionStatus | undefined) ?? null,
      closed: (m.get('closed') as RoomClosed | undefined) ?? null,
    };
  }
  /** Writes the counters that changed since `before` (inside the batch's transaction). */
  private saveCounters(before: Counters) {
    const now = this.counters;
    if (now.lastSeq !== before.lastSeq) this.setMeta('lastSeq', now.lastSeq);
    if (now.bytes !== before.bytes) this.setMeta('bytes', now.bytes);
    if (now.truncated !== before.truncated) this.setMeta('truncated', now.truncated ? '1' : '0');
    if (now.status !== before.status && now.status) this.setMeta('status', now.status);
    if (now.closed !== before.closed && now.closed) this.setMeta('closed', now.closed);
  }

  /** Records which execution this room belongs to (idempotent); a deleted run's room refuses to start again. */
  async init(input: { taskId: string; organizationId: string; status?: ExecutionStatus; lines?: Line[] }): Promise<{ refused?: RoomClosed }> {
    if (this.counters.closed === 'RUN_DELETED') return { refused: 'RUN_DELETED' };
    if (!this.meta('taskId')) {
      this.setMeta('taskId', input.taskId);
      this.setMeta('organizationId', input.organizationId);
      if (!this.counters.status) {
        this.counters.status = input.status ?? 'PENDING';
        this.setMeta('status', this.counters.status);
      }
    }
    if (input.lines?.length) this.applySync({ lines: input.lines });
    return {};
  }

  async info() {
    const { lastSeq, bytes, truncated, status, closed } = this.counters;
    return {
      taskId: this.meta('taskId') ?? null,
      organizationId: this.meta('organizationId') ?? null,
      status,
      closed,
      lastSeq,
      bytes,
      truncated,
      viewers: this.ctx.getWebSockets('viewer').length,
    };
  }

  // ── writes ───────────────────────────────────────────────────────────────────────────────
  /** Applies a batch atomically; returns how far `attempt`'s agent stream is stored, or why it was refused. */
  async apply(input: RoomApply): Promise<RoomWrite> {
    if (input.holder === undefined) return this.applySync(input);
    const attempt = this.heldAttempt(input.holder);
    if (attempt === null) return { upTo: 0, duplicate: false, leaseNotHeld: true };
    return { ...this.applySync({ ...input, attempt }), attempt };
  }

  /**
   * Why this write may not be stored, from memory: a deleted run takes nothing; an ended one takes
   * nothing from agents and reporters. A write that carries no data (a read of `upTo`) always passes.
   */
  private refusal(input: RoomApply): RoomClosed | undefined {
    const closed = this.counters.closed;
    if (!closed) return undefined;
    const data = !!(input.batchId || input.chunks?.length || input.lines?.length || input.tests?.length);
    if (closed === 'RUN_DELETED') return data || input.status ? closed : undefined;
    return data && input.from ? closed : undefined;
  }

  /**
   * One transaction per batch. If it throws, storage rolls back, and so do the in-memory counters
   * and the chunks queued for viewers; messages go out only after the commit.
   */
  private applySync(input: RoomApply): RoomWrite {
    const attempt = input.attempt ?? 0;
    const refused = this.refusal(input);
    if (refused) {
      const upTo = input.attempt === undefined ? 0 : this.agentUpTo(attempt);
      // A batch applied before the end is still acknowledged as such (a replayed spool, a resent teardown).
      const seen = refused === 'RUN_ENDED' && !!input.batchId && this.sql.exec('SELECT 1 FROM batches WHERE id = ?', input.batchId).toArray().length > 0;
      return seen ? { upTo, duplicate: true } : { upTo, duplicate: false, refused };
    }
    const before = { ...this.counters };
    const queued = this.pendingChunks.length;
    const announce: RoomMessage[] = [];
    let result: RoomWrite;
    try {
      result = this.ctx.storage.transactionSync(() => {
        // The batch id is claimed in the same statement that checks it.
        if (input.batchId && this.sql.exec('INSERT INTO batches (id) VALUES (?) ON CONFLICT DO NOTHING', input.batchId).rowsWritten === 0) {
          return { upTo: input.attempt === undefined ? 0 : this.agentUpTo(attempt), duplicate: true };
        }
        if (input.lines?.length) for (const line of input.lines) this.append(line);
        const upTo = input.chunks?.length ? this.acceptAgentChunks(attempt, input.chunks) : input.attempt === undefined ? 0 : this.agentUpTo(attempt);
        if (input.tests?.length) {
          for (const t of input.tests) {
            this.sql.exec(
              'INSERT INTO tests (test_id, retry, result) VALUES (?, ?, ?) ON CONFLICT(test_id, retry) DO UPDATE SET result = excluded.result',
              t.testId,
              t.retry ?? 0,
              JSON.stringify(t),
            );
          }
        }
        // An ended run never goes back to PENDING or RUNNING, whatever order late status writes arrive in.
        const backwards = this.counters.closed && (input.status?.status === 'PENDING' || input.status?.status === 'RUNNING');
        if (input.status && input.status.status !== this.counters.status && !backwards) {
          this.counters.status = input.status.status;
          announce.push({ type: 'status', status: input.status.status, reason: input.status.reason ?? null });
        }
        if (input.ends) this.counters.closed ??= 'RUN_ENDED';
        if (this.counters.truncated && !before.truncated) announce.unshift({ type: 'truncated', atSeq: this.counters.lastSeq });
        this.saveCounters(before);
        return { upTo, duplicate: false };
      });
    } catch (err) {
      this.counters = before;
      this.pendingChunks.length = queued;
      throw err;
    }
    if (result.duplicate) return result;
    for (const t of input.tests ?? []) this.pendingTests.set(`${t.testId}#${t.retry ?? 0}`, t);
    if (announce.length) {
      this.flush(); // keep order: the log up to here goes first
      for (const m of announce) this.broadcastNow(m);
    }
    this.scheduleFlush();
    return result;
  }

  private agentUpTo(attempt: number): number {
    return this.sql.exec<{ up_to: number }>('SELECT up_to FROM agent_streams WHERE attempt = ?', attempt).toArray()[0]?.up_to ?? 0;
  }

  /**
   * In order, exactly once: seq ≤ upTo is a resend; the next seq is stored at once; a chunk after a
   * gap waits in agent_pending until the gap is filled. Returns the new upTo.
   */
  private acceptAgentChunks(attempt: number, chunks: LogChunk[]): number {
    const stream = this.sql.exec<{ up_to: number; closed: number }>('SELECT up_to, closed FROM agent_streams WHERE attempt = ?', attempt).toArray()[0];
    if (stream?.closed) return stream.up_to;
    const from = stream?.up_to ?? 0;
    let upTo = from;
    let parked = false;
    for (const c of chunks) {
      if (c.seq <= upTo) continue;
      if (c.seq === upTo + 1) {
        this.append({ stream: c.stream ?? 'stdout', data: c.data, ts: c.ts ?? Date.now() });
        upTo += 1;
      } else {
        this.sql.exec(
          'INSERT OR IGNORE INTO agent_pending (attempt, seq, stream, data, ts) VALUES (?, ?, ?, ?, ?)',
          attempt,
          c.seq,
          c.stream ?? 'stdout',
          c.data,
          c.ts ?? Date.now(),
        );
        parked = true;
      }
    }
    // Chunks parked by an earlier batch (or this one) that now follow on.
    if (parked || upTo > from) {
      for (;;) {
        const next = this.sql
          .exec<{ stream: Line['stream']; data: string; ts: number }>(
            'SELECT stream, data, ts FROM agent_pending WHERE attempt = ? AND seq = ?',
            attempt,
            upTo + 1,
          )
          .toArray()[0];
        if (!next) break;
        this.append(next);
        upTo += 1;
      }
      // Parked copies of chunks that arrived in order after all.
      this.sql.exec('DELETE FROM agent_pending WHERE attempt = ? AND seq <= ?', attempt, upTo);
    }
    if (upTo !== from || !stream)
      this.sql.exec('INSERT INTO agent_streams (attempt, up_to) VALUES (?, ?) ON CONFLICT(attempt) DO UPDATE SET up_to = excluded.up_to', attempt, upTo);
    return upTo;
  }

  /** Appends one line to the numbered log, within the size cap. */
  private append(line: Line) {
    const c = this.counters;
    if (c.truncated) return;
    const max = Number(this.env.LOG_MAX_BYTES ?? DEFAULT_LOG_MAX_BYTES);
    const seq = c.lastSeq + 1;
    let stored: StoredLogChunk;
    if (c.bytes + line.data.length > max) {
      stored = {
        seq,
        stream: 'system',
        data: `\n[agnox] log truncated: this run's log passed ${(max / 1024 / 1024).toFixed(1)} MB; later output was not stored.\n`,
        ts: Date.now(),
      };
      c.truncated = true;
    } else {
      stored = { seq, stream: line.stream, data: line.data, ts: line.ts };
      c.bytes += line.data.length;
    }
    this.sql.exec('INSERT INTO log (seq, stream, data, ts) VALUES (?, ?, ?, ?)', stored.seq, stored.stream, stored.data, stored.ts);
    c.lastSeq = seq;
    this.pendingChunks.push(stored);
  }

  /** The run is over: agent streams close, agents and reporters may write no more, and the retention alarm is set. */
  async finish(input: { status: ExecutionStatus; reason?: string | null; retentionDays?: number; lines?: Line[] }) {
    if (this.counters.closed === 'RUN_DELETED') return;
    this.applySync({ lines: input.lines, status: { status: input.status, reason: input.reason }, ends: true });
    this.sql.exec('UPDATE agent_streams SET closed = 1');
    for (const ws of this.ctx.getWebSockets('agent')) ws.close(1000, 'run finished');
    const days = input.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.setMeta('purgeAt', Date.now() + days * 24 * 60 * 60 * 1000);
    await this.armAlarm();
  }

  /**
   * An ingest teardown: agents and reporters may write no more, and the results as they stand are
   * returned — nothing can be added after this read. `closed` says RUN_DELETED for a deleted run.
   */
  async end(): Promise<{ closed: RoomClosed; tests: TestResult[] }> {
    this.applySync({ ends: true });
    return { closed: this.counters.closed ?? 'RUN_ENDED', tests: await this.readTests() };
  }

  /** A lease ended (agent lost): that attempt's stream accepts nothing more. */
  async closeAttempt(attempt: number) {
    this.sql.exec('INSERT INTO agent_streams (attempt, up_to, closed) VALUES (?, 0, 1) ON CONFLICT(attempt) DO UPDATE SET closed = 1', attempt);
    for (const ws of this.ctx.getWebSockets(`attempt:${attempt}`)) ws.close(4001, 'lease ended');
  }

  /** Deletes everything (run deleted, or retention reached) but a tombstone; idempotent. */
  async purge() {
    for (const ws of this.ctx.getWebSockets()) ws.close(1000, 'run deleted');
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // The object may live on in memory, and a late write or an ingest setup with the same runId may
    // come: leave it an empty room whose one row says the run was deleted, so it stores nothing again.
    this.createTables();
    this.setMeta('closed', 'RUN_DELETED');
    this.counters = this.loadCounters();
    this.pendingChunks = [];
    this.pendingTests.clear();
    this.broadcastUpTo = 0;
  }

  /**
   * The lease's deadlines (lease section), then, for a finished run, retention as of finish(). The
   * org's plan may have changed since, so the run's current expiry decides: later (an upgrade)
   * re-arms the alarm; a run gone from D1 or expired purges.
   */
  override async alarm() {
    await this.checkLeases(Date.now());
    if (this.meta('purgeAt')) {
      const taskId = this.meta('taskId');
      const expiresAt = taskId ? await runExpiry(dbOf(this.env), taskId) : null;
      if (expiresAt === null || expiresAt <= Date.now()) return this.purge();
      this.setMeta('purgeAt', expiresAt);
    }
    await this.armAlarm();
  }

  /** One alarm for everything due: the earliest lease deadline or the retention purge. */
  private async armAlarm() {
    const leaseDue = this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(CASE WHEN ending = 1 THEN 0 ELSE MIN(expires_at, CASE WHEN cancel_reason IS NULL THEN timeout_at ELSE timeout_at + ? END) END) AS at FROM lease`,
        TIMEOUT_GRACE_MS,
      )
      .one().at;
    const dues = [leaseDue, Number(this.meta('purgeAt') ?? 0) || null].filter((at): at is number => at !== null);
    if (!dues.length) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Math.max(Math.min(...dues), Date.now() + 10));
  }

  // ── lease ────────────────────────────────────────────────────────────────────────────────
  /** The Dispatcher leased this run's job (claim): the room keeps the lease from here. A run that ended or was deleted takes none. */
  async lease(grant: LeaseGrant): Promise<{ refused?: RoomClosed }> {
    if (this.counters.closed) return { refused: this.counters.closed };
    if (!this.meta('taskId')) this.setMeta('taskId', grant.taskId);
    if (grant.attempt <= this.lastAttempt()) return {}; // a resend, or overtaken by a later attempt
    // An earlier attempt still held here (its end never reached the Dispatcher) is over.
    for (const { attempt } of this.sql.exec<{ attempt: number }>('SELECT attempt FROM lease WHERE ending = 0').toArray()) await this.closeAttempt(attempt);
    this.sql.exec('DELETE FROM lease WHERE ending = 0');
    this.setMeta('leaseAttempt', grant.attempt);
    this.sql.exec(
      'INSERT INTO lease (attempt, agent_id, dispatcher_id, expires_at, timeout_at, cancel_reason) VALUES (?, ?, ?, ?, ?, ?)',
      grant.attempt,
      grant.agentId,
      grant.dispatcherId,
      grant.expiresAt,
      grant.timeoutAt,
      this.meta('cancel') ? 'cancel' : null,
    );
    await this.armAlarm();
    return {};
  }

  /** Renews the lease; says whether the agent must stop (cancel, or the run is past its timeout). Null when this agent holds no lease here. */
  async heartbeat(agentId: string): Promise<HeartbeatResponse | null> {
    const now = Date.now();
    const leaseExpiresAt = now + LEASE_TTL_MS;
    const row = this.sql
      .exec<{ cancel_reason: 'cancel' | 'timeout' | null }>(
        `UPDATE lease SET expires_at = ?, cancel_reason = COALESCE(cancel_reason, CASE WHEN timeout_at <= ? THEN 'timeout' END)
         WHERE agent_id = ? AND ending = 0 RETURNING cancel_reason`,
        leaseExpiresAt,
        now,
        agentId,
      )
      .toArray()[0];
    if (!row) return null;
    const reason = row.cancel_reason;
    return { cancel: reason !== null, ...(reason ? { reason } : {}), leaseExpiresAt };
  }

  /** The attempt `agentId` holds, or null. */
  async leaseOf(agentId: string): Promise<number | null> {
    return this.heldAttempt(agentId);
  }

  private heldAttempt(agentId: string): number | null {
    return this.sql.exec<{ attempt: number }>('SELECT attempt FROM lease WHERE agent_id = ? AND ending = 0', agentId).toArray()[0]?.attempt ?? null;
  }

  private lastAttempt(): number {
    return Number(this.meta('leaseAttempt') ?? 0);
  }

  /** A member cancelled the running run: its agent is told in its next heartbeat. A lease recorded later starts cancelled too. */
  async requestCancel(lines?: Line[]) {
    this.setMeta('cancel', '1');
    this.sql.exec("UPDATE lease SET cancel_reason = 'cancel' WHERE cancel_reason IS NULL");
    if (lines?.length) this.applySync({ lines });
  }

  /** The agent reported its run (its result is stored): the lease ends, and the Dispatcher that granted it lets the job go. */
  async releaseLease(attempt: number) {
    const lease = this.sql.exec<LeaseRow>('SELECT * FROM lease WHERE attempt = ?', attempt).toArray()[0];
    if (!lease) return;
    await this.dispatcher(lease).release(this.meta('taskId')!, attempt);
    this.sql.exec('DELETE FROM lease WHERE attempt = ?', attempt);
    await this.armAlarm();
  }

  /**
   * The agent's poll no longer lists this attempt (it restarted, or the answer carrying the job never
   * reached it): the lease ends now rather than when it lapses. The Dispatcher asks, and applies the verdict itself.
   */
  async abandon(attempt: number, why: string): Promise<LeaseVerdict> {
    const held = this.sql.exec<LeaseRow>('SELECT * FROM lease WHERE attempt = ?', attempt).toArray()[0];
    if (held?.ending) return 'stale'; // the alarm is ending it
    // No row: the lease was never recorded here (its grant failed) or is gone; what the room knows of the run still decides.
    const lease = held ?? { attempt, agent_id: '', dispatcher_id: '', expires_at: 0, timeout_at: Number.MAX_SAFE_INTEGER, cancel_reason: null, ending: 0 };
    const verdict = await this.endLease(lease, Date.now(), why);
    this.sql.exec('DELETE FROM lease WHERE attempt = ?', attempt);
    await this.armAlarm();
    return verdict;
  }

  /** Past the timeout: the next heartbeat asks the agent to stop. A lapsed lease, or no report by the grace: the lease ends. */
  private async checkLeases(now: number) {
    this.sql.exec("UPDATE lease SET cancel_reason = 'timeout' WHERE ending = 0 AND cancel_reason IS NULL AND timeout_at <= ?", now);
    const due = this.sql.exec<LeaseRow>('SELECT * FROM lease WHERE ending = 1 OR expires_at <= ? OR timeout_at + ? <= ?', now, TIMEOUT_GRACE_MS, now).toArray();
    for (const lease of due) {
      const verdict = await this.endLease(lease, now, `no heartbeat for ${LEASE_TTL_MS / 1000} s`);
      const taskId = this.meta('taskId')!;
      if (verdict === 'requeue') await this.dispatcher(lease).requeue(taskId, lease.attempt);
      else if (verdict === 'drop') await this.dispatcher(lease).release(taskId, lease.attempt);
      this.sql.exec('DELETE FROM lease WHERE attempt = ?', lease.attempt);
    }
  }

  /**
   * Ends a lease whose agent is gone: its attempt's stream closes, then the run ends (cancel requested,
   * overdue past its timeout, attempts exhausted) or waits for another agent. Every step may be
   * repeated (an interrupted end is redone): the status changes are guarded by `from`.
   */
  private async endLease(lease: LeaseRow, now: number, why: string): Promise<LeaseVerdict> {
    this.sql.exec('UPDATE lease SET ending = 1 WHERE attempt = ?', lease.attempt);
    await this.closeAttempt(lease.attempt);
    if (lease.attempt < this.lastAttempt()) return 'stale'; // a later attempt holds the job
    if (this.counters.closed) return 'drop'; // the run ended meanwhile: nothing to put back
    const taskId = this.meta('taskId')!;
    const cancelReason = lease.cancel_reason ?? (this.meta('cancel') ? 'cancel' : null);
    const overdue = lease.timeout_at + TIMEOUT_GRACE_MS <= now;
    if (cancelReason || overdue) {
      const timedOut = overdue || cancelReason === 'timeout';
      await endRun(this.env, taskId, timedOut ? 'TIMED_OUT' : 'CANCELLED', {
        from: ['PENDING', 'RUNNING'],
        patch: { reason: timedOut ? 'timeout' : 'cancel' },
        note: timedOut ? 'run timed out and its agent did not report back' : 'run cancelled; its agent did not report back',
      });
      return 'drop';
    }
    if (lease.attempt >= MAX_JOB_ATTEMPTS) {
      await endRun(this.env, taskId, 'ERROR', {
        from: ['PENDING', 'RUNNING'],
        patch: { reason: 'agent_lost' },
        note: `agent lost ${lease.attempt} times (last: ${why}); giving up`,
      });
      return 'drop';
    }
    await changeStatus(this.env, taskId, 'PENDING', {
      from: ['RUNNING', 'PENDING'],
      patch: { reason: 'requeued', agentId: null },
      note: `agent lost (${why}); job requeued, attempt ${lease.attempt + 1} of ${MAX_JOB_ATTEMPTS}`,
    });
    return 'requeue';
  }

  /** The Dispatcher that granted a lease (by id: the room needs no queue name, and a sharded queue's shard is found alike). */
  private dispatcher(lease: LeaseRow) {
    return this.env.DISPATCHER.get(this.env.DISPATCHER.idFromString(lease.dispatcher_id));
  }

  // ── reads ────────────────────────────────────────────────────────────────────────────────
  async readLogs(since = 0, limit = 5000): Promise<{ chunks: StoredLogChunk[]; lastSeq: number; truncated: boolean }> {
    const chunks = this.sql.exec<StoredLogChunk>('SELECT seq, stream, data, ts FROM log WHERE seq > ? ORDER BY seq LIMIT ?', since, limit).toArray();
    return { chunks, lastSeq: this.counters.lastSeq, truncated: this.counters.truncated };
  }

  /** Every attempt of every test, in the order they were first seen. */
  async readTests(): Promise<TestResult[]> {
    return this.sql
      .exec<{ result: string }>('SELECT result FROM tests ORDER BY rowid')
      .toArray()
      .map((r) => JSON.parse(r.result));
  }

  // ── sockets ──────────────────────────────────────────────────────────────────────────────
  /** WebSocket upgrades forwarded by the Worker after it authenticated the caller. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const url = new URL(request.url);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    if (url.searchParams.get('role') === 'agent') {
      // The agent's lease is checked here, where its stream ends: no other object is asked.
      const attempt = this.heldAttempt(url.searchParams.get('holder') ?? '');
      if (attempt === null) return errorResponse(leaseNotHeld());
      this.ctx.acceptWebSocket(server, ['agent', `attempt:${attempt}`]);
      server.serializeAttachment({ role: 'agent', attempt } satisfies SocketAttachment);
      server.send(JSON.stringify({ type: 'ack', upTo: this.agentUpTo(attempt) } satisfies LogAck));
    } else {
      const [organizationId, taskId, sessionId, userId] = ['org', 'task', 'session', 'user'].map((k) => url.searchParams.get(k));
      // The room knows whose run it is: another org's viewer, or one of a deleted run, finds nothing (no D1 read for it).
      if (!organizationId || organizationId !== this.meta('organizationId') || this.counters.closed === 'RUN_DELETED')
        return errorResponse(notFound('Execution'));
      const holder = organizationId && taskId && sessionId && userId ? { organizationId, taskId, sessionId, userId } : undefined;
      this.ctx.acceptWebSocket(server, ['viewer', ...holderTags(sessionId, userId)]);
      server.serializeAttachment({ role: 'viewer', holder, liveAfter: this.broadcastUpTo } satisfies SocketAttachment);
      this.unacked.set(server, 0);
      // The backlog goes out before anything is awaited: once accepted, the socket gets every broadcast,
      // and a live batch sent while this waited would reach the viewer ahead of the older chunks.
      this.sendBacklog(server, Math.max(0, Number(url.searchParams.get('since') ?? 0) || 0));
      if (holder) await hubOf(this.env, holder.organizationId).track(taskId!, holder.sessionId, holder.userId);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** hello, then every stored chunk after `since` up to what was broadcast; pending chunks follow in the next flush. */
  private sendBacklog(ws: WebSocket, since: number) {
    const send = (m: RoomMessage) => ws.send(JSON.stringify(m));
    const { lastSeq, status, truncated } = this.counters;
    send({ type: 'hello', taskId: this.meta('taskId') ?? '', lastSeq, status, truncated });
    let frame: StoredLogChunk[] = [];
    let bytes = 0;
    const cursor = this.sql.exec<StoredLogChunk>('SELECT seq, stream, data, ts FROM log WHERE seq > ? AND seq <= ? ORDER BY seq', since, this.broadcastUpTo);
    for (const chunk of cursor) {
      frame.push(chunk);
      bytes += chunk.data.length;
      if (bytes >= BACKLOG_FRAME_BYTES) {
        send({ type: 'log', chunks: frame });
        frame = [];
        bytes = 0;
      }
    }
    if (frame.length) send({ type: 'log', chunks: frame });
    const tests = this.sql
      .exec<{ result: string }>('SELECT result FROM tests ORDER BY rowid')
      .toArray()
      .map((r) => JSON.parse(r.result) as TestResult);
    if (tests.length) send({ type: 'tests', results: tests });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    if (attachment.role === 'viewer') return this.viewerAcked(ws, attachment, message);
    let frame: AgentLogFrame;
    try {
      frame = AgentLogFrame.parse(JSON.parse(typeof message === 'string' ? message : new TextDecoder().decode(message)));
    } catch {
      ws.send(JSON.stringify({ type: 'error', error: 'invalid frame: expected {type:"chunks", chunks:[{seq,stream,data,ts}]}' }));
      return;
    }
    const { upTo, refused } = this.applySync({ chunks: frame.chunks, attempt: attachment.attempt, from: 'agent' });
    ws.send(JSON.stringify({ type: 'ack', upTo } satisfies LogAck));
    if (refused) ws.close(1000, refused === 'RUN_DELETED' ? 'run deleted' : 'run finished');
  }

  override async webSocketClose(ws: WebSocket, code: number) {
    try {
      ws.close(code === 1005 ? 1000 : code, 'closing');
    } catch {
      /* already closed */
    }
    await this.untrackViewer(ws);
  }

  override async webSocketError(ws: WebSocket) {
    await this.untrackViewer(ws);
  }

  /** The hub forgets this room for a session once the session's last socket here is gone. */
  private async untrackViewer(ws: WebSocket) {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const holder = attachment.role === 'viewer' ? attachment.holder : undefined;
    if (!holder) return;
    const open = this.ctx.getWebSockets(`session:${holder.sessionId}`).some((other) => other !== ws && other.readyState === WebSocket.OPEN);
    if (!open)
      await hubOf(this.env, holder.organizationId)
        .untrack(holder.taskId, holder.sessionId)
        .catch(() => {
          /* the hub's row is dropped at its next close */
        });
  }

  /** Closes the viewers of a session or member (logout, removal, role change); returns how many. */
  async closeViewers(holder: LiveHolder, reason: string): Promise<number> {
    const sockets = this.ctx.getWebSockets(holderTag(holder));
    for (const ws of sockets) {
      try {
        ws.close(LIVE_ACCESS_ENDED, reason);
      } catch {
        /* already closed */
      }
    }
    return sockets.length;
  }

  /** A viewer's ack: what it still holds unacknowledged is the stored log after that seq, up to what was broadcast. */
  private viewerAcked(ws: WebSocket, attachment: SocketAttachment & { role: 'viewer' }, message: string | ArrayBuffer) {
    if (typeof message !== 'string' || this.unacked.get(ws) === 'behind') return;
    let ack: ViewerAck;
    try {
      ack = ViewerAck.parse(JSON.parse(message));
    } catch {
      return; // anything else from a viewer is ignored
    }
    const from = Math.max(ack.seq, attachment.liveAfter ?? 0);
    const { n } = this.sql
      .exec<{ n: number }>('SELECT coalesce(sum(length(data)), 0) AS n FROM log WHERE seq > ? AND seq <= ?', from, this.broadcastUpTo)
      .one();
    this.unacked.set(ws, n);
  }

  // ── fan-out ──────────────────────────────────────────────────────────────────────────────
  private broadcastNow(message: RoomMessage) {
    this.flush(); // keep order: anything pending goes first
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets('viewer')) this.sendToViewer(ws, text);
  }

  /** Leading edge: the first batch goes out at once; later ones at most every FLUSH_INTERVAL_MS. */
  private scheduleFlush() {
    if (this.flushTimer) return;
    this.flush();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (this.pendingChunks.length || this.pendingTests.size) this.scheduleFlush();
    }, FLUSH_INTERVAL_MS);
  }

  private flush() {
    if (!this.pendingChunks.length && !this.pendingTests.size) return;
    const viewers = this.ctx.getWebSockets('viewer');
    const messages: string[] = [];
    if (this.pendingChunks.length) messages.push(JSON.stringify({ type: 'log', chunks: this.pendingChunks } satisfies RoomMessage));
    if (this.pendingTests.size) messages.push(JSON.stringify({ type: 'tests', results: [...this.pendingTests.values()] } satisfies RoomMessage));
    this.broadcastUpTo = this.pendingChunks.at(-1)?.seq ?? this.broadcastUpTo;
    this.pendingChunks = [];
    this.pendingTests.clear();
    for (const ws of viewers) for (const m of messages) this.sendToViewer(ws, m);
  }

  /**
   * Sends unless the viewer is too far behind, in which case it is told to resync and closed instead.
   * A viewer with nothing unacknowledged gets the next frame whatever its size (one large batch is not falling behind).
   */
  private sendToViewer(ws: WebSocket, text: string) {
    const unacked = this.unacked.get(ws) ?? 0;
    if (unacked === 'behind') return;
    try {
      if (unacked > 0 && unacked + text.length > VIEWER_MAX_UNACKED_BYTES) {
        this.unacked.set(ws, 'behind');
        ws.send(JSON.stringify({ type: 'resync' } satisfies RoomMessage));
        ws.close(LIVE_RESYNC, 'viewer fell behind: reconnect with since=<last seq>');
        return;
      }
      ws.send(text);
      this.unacked.set(ws, unacked + text.length);
    } catch {
      /* a closing socket; the viewer resumes with since= */
    }
  }
}
