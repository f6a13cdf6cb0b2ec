// An org's live run list: every dashboard of the org holds a WebSocket (hibernation API) on one shard
// of the org's hub, and every status change reaches it as part of an `executions` message.
//
// Shards. The home shard (#0, named by the org id alone, as the hub was before it had shards) takes
// every dashboard until it holds HUB_HOME_DASHBOARDS; from then on the org is "sharded" (a flag kept in
// `meta`) and the home answers a new dashboard's upgrade with the shard it should join instead, 1 to
// HUB_SHARDS - 1 by hash of its session (the Worker then opens it there: routes/live.ts). A small org
// costs one object and sends nothing between objects; a large one is bounded by HUB_SHARDS × 32,768
// sockets rather than one object's 32,768.
//
// Publishing. Every update goes to the home shard only (OrgHub.publish, one call, which the request
// does not wait for: services/executions.ts). The home buffers what arrives, the latest summary per run
// (ordered by the row's updatedAt, so a publish overtaken in flight cannot undo a newer one), and at
// most HUB_FLUSH_MS after the first buffered update sends one message to each of its dashboards and,
// when sharded, forwards that same message once to each other shard (deliver), which sends it on as it
// is. So a dashboard gets ≤ 2 messages a second however many runs change, and the objects exchange
// ≤ 2 × (HUB_SHARDS - 1) calls a second per org. A buffer lost with the object (it is not stored)
// costs the dashboards at most one interval's changes, which they refetch when they reconnect.
// (Publishing to every shard instead would cost each status change of every org HUB_SHARDS calls, and
// give each shard its own buffer and order. The price here: one org's publishes all reach one object,
// small calls that only fill a map; 100 a second is a few ms of its time.)
//
// Access. The home also knows which run rooms hold live sockets of which member session (rooms report
// them with track/untrack), so that closeSockets (a logout, a member removed or given another role)
// closes that session's or member's sockets on every shard and in every room. And it admits the org's
// WebSocket tickets (admitTicket): each is used once, and none minted by a session that has since
// logged out. Both are remembered only as long as a ticket lives (60 s), in this object's storage
// rather than D1: a dashboard opening a run costs D1 nothing.
import { DurableObject } from 'cloudflare:workers';
import {
  HUB_FLUSH_MS,
  HUB_SHARD_HEADER,
  HUB_SHARDS,
  HUB_STATS_WINDOW_S,
  LIVE_ACCESS_ENDED,
  type ExecutionSummary,
  type HubMessage,
  type HubShardStats,
  type HubUpdate,
  type LiveHolder,
  type LiveTicket,
  type TicketVerdict,
} from '../worker/contracts/live';
import { WS_TICKET_TTL_SECONDS } from '../worker/lib/jwt';
import type { Env } from '../worker/env';
import { hubOf, roomOf } from '../worker/bindings';

/**
 * Dashboards the home shard holds before the org is sharded. A flush sends one message per dashboard
 * (≈10 µs each in workerd): 1,000 is ≈10 ms of the home's time per flush, which also takes every
 * publish; and no org below it pays for a second object.
 */
export const HUB_HOME_DASHBOARDS = 1_000;
/** How long the home remembers a run's last update time, to drop a publish overtaken in flight; far longer than any flight. */
const REMEMBER_ORDER_MS = 60_000;

/** A socket's tags: its member's session and the member, when a member (not an API key) opened it. */
export const holderTags = (sessionId?: string | null, userId?: string | null) => (sessionId && userId ? [`session:${sessionId}`, `user:${userId}`] : []);
export const holderTag = (holder: LiveHolder) => ('sessionId' in holder ? `session:${holder.sessionId}` : `user:${holder.userId}`);

/** The shard a dashboard joins once the home is full: by hash of its session (one session's tabs share a shard), 1 … HUB_SHARDS - 1. */
export function shardFor(sessionId: string | null): number {
  const key = sessionId ?? crypto.randomUUID();
  let h = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return 1 + ((h >>> 0) % (HUB_SHARDS - 1));
}

export class OrgHub extends DurableObject<Env> {
  private sql: SqlStorage;
  /** Dashboards the home takes before it sends them to other shards; a test lowers it to see shards without 1,000 sockets. */
  homeCapacity = HUB_HOME_DASHBOARDS;
  private sharded: boolean;
  /** The latest summary per run and the runs deleted since the last flush (the home only). */
  private pending = new Map<string, ExecutionSummary>();
  private pendingDeleted = new Set<string>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Per run, the updatedAt of the last update taken (Infinity once deleted) and when it was taken. */
  private lastTaken = new Map<string, { at: number; takenAt: number }>();
  /** Per other shard, the forwarding in flight: batches reach a shard one after another, in order. */
  private forwarding = new Map<number, Promise<unknown>>();
  private updatesIn = 0;
  private sends = 0;
  /** Sends per wall-clock second, for the last HUB_STATS_WINDOW_S seconds. */
  private sendsBySecond = new Map<number, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // One row per (session, run room) with an open socket; a room removes its row when the session's last socket there closes.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS room_sessions (session_id TEXT NOT NULL, task_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (session_id, task_id));
      CREATE INDEX IF NOT EXISTS room_sessions_user ON room_sessions (user_id);
      CREATE TABLE IF NOT EXISTS used_tickets (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS used_tickets_expiry ON used_tickets (expires_at);
      CREATE TABLE IF NOT EXISTS ended_sessions (session_id TEXT PRIMARY KEY, until INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.sharded = this.sql.exec("SELECT 1 FROM meta WHERE key = 'sharded'").toArray().length > 0;
  }

  /**
   * The Worker forwards `/api/live` upgrades here after authenticating the member (?org&shard&session&user).
   * A full home answers with the shard the dashboard should join instead (HUB_SHARD_HEADER).
   */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const url = new URL(request.url);
    const session = url.searchParams.get('session');
    if (Number(url.searchParams.get('shard') ?? 0) === 0 && this.ctx.getWebSockets().length >= this.homeCapacity) {
      if (!this.sharded) this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('sharded', ?)", String(Date.now()));
      this.sharded = true;
      return new Response(null, { status: 307, headers: { [HUB_SHARD_HEADER]: String(shardFor(session)) } });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], holderTags(session, url.searchParams.get('user')));
    pair[1].send(JSON.stringify({ type: 'hello' } satisfies HubMessage));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** The home takes updates; its dashboards and the other shards' get them at the next flush. */
  async publish(organizationId: string, updates: HubUpdate[]): Promise<void> {
    for (const update of updates) this.take(update);
    this.flushTimer ??= setTimeout(() => void this.flush(organizationId), HUB_FLUSH_MS);
  }

  private take(update: HubUpdate) {
    this.updatesIn++;
    const takenAt = Date.now();
    if ('deleted' in update) {
      for (const taskId of update.deleted) {
        this.pending.delete(taskId);
        this.pendingDeleted.add(taskId);
        this.lastTaken.set(taskId, { at: Number.POSITIVE_INFINITY, takenAt });
      }
      return;
    }
    const { execution, at } = update;
    if ((this.lastTaken.get(execution.taskId)?.at ?? Number.NEGATIVE_INFINITY) > at) return; // overtaken in flight by a newer one
    this.lastTaken.set(execution.taskId, { at, takenAt });
    this.pending.set(execution.taskId, execution);
  }

  /** One message of what changed: to this shard's dashboards, and once to each other shard when sharded. */
  private async flush(organizationId: string) {
    this.flushTimer = null;
    if (!this.pending.size && !this.pendingDeleted.size) return; // every update was an overtaken one
    const message: HubMessage = { type: 'executions', updated: [...this.pending.values()], deleted: [...this.pendingDeleted] };
    this.pending.clear();
    this.pendingDeleted.clear();
    const forgetBefore = Date.now() - REMEMBER_ORDER_MS;
    for (const [taskId, { takenAt }] of this.lastTaken) if (takenAt < forgetBefore) this.lastTaken.delete(taskId);
    const text = JSON.stringify(message);
    this.sendToDashboards(text);
    if (!this.sharded) return;
    await Promise.all(
      Array.from({ length: HUB_SHARDS - 1 }, (_, i) => {
        const shard = i + 1;
        const next = (this.forwarding.get(shard) ?? Promise.resolve())
          .then(() => hubOf(this.env, organizationId, shard).deliver(text))
          .catch((err) => console.warn('live list update not forwarded to a hub shard', organizationId, shard, String(err)));
        this.forwarding.set(shard, next);
        void next.then(() => {
          if (this.forwarding.get(shard) === next) this.forwarding.delete(shard);
        });
        return next;
      }),
    );
  }

  /** A message the home coalesced, for this shard's dashboards; returns how many. */
  async deliver(text: string): Promise<number> {
    return this.sendToDashboards(text);
  }

  private sendToDashboards(text: string): number {
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      try {
        ws.send(text);
      } catch {
        /* closing; the dashboard refetches on reconnect */
      }
    }
    this.sends += sockets.length;
    const second = Math.floor(Date.now() / 1000);
    this.sendsBySecond.set(second, (this.sendsBySecond.get(second) ?? 0) + sockets.length);
    for (const s of this.sendsBySecond.keys()) if (s <= second - HUB_STATS_WINDOW_S) this.sendsBySecond.delete(s);
    return sockets.length;
  }

  /** This shard's counters; `sharded` says whether the home sends to the other shards. */
  async stats(): Promise<Omit<HubShardStats, 'shard'> & { sharded: boolean }> {
    const now = Math.floor(Date.now() / 1000);
    let recent = 0;
    for (const [s, n] of this.sendsBySecond) if (s > now - HUB_STATS_WINDOW_S) recent += n;
    return {
      dashboards: this.ctx.getWebSockets().length,
      updatesIn: this.updatesIn,
      sends: this.sends,
      sendsPerSecond: recent / HUB_STATS_WINDOW_S,
      sharded: this.sharded,
    };
  }

  /** Lets a ticket open one socket: not twice, and not once the session it was minted from has ended. */
  async admitTicket(ticket: LiveTicket, now = Date.now()): Promise<TicketVerdict> {
    // What is remembered lives as long as a ticket can: expired rows go as tickets are used.
    this.sql.exec('DELETE FROM used_tickets WHERE expires_at < ?', now);
    this.sql.exec('DELETE FROM ended_sessions WHERE until < ?', now);
    if (ticket.sid && this.sql.exec('SELECT 1 FROM ended_sessions WHERE session_id = ?', ticket.sid).toArray().length) return 'session-ended';
    const used = this.sql.exec('INSERT INTO used_tickets (jti, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING jti', ticket.jti, ticket.exp * 1000);
    return used.toArray().length ? 'admitted' : 'used';
  }

  /** A run room accepted a socket of this session. */
  async track(taskId: string, sessionId: string, userId: string) {
    this.sql.exec('INSERT OR IGNORE INTO room_sessions (session_id, task_id, user_id) VALUES (?, ?, ?)', sessionId, taskId, userId);
  }

  /** The session's last socket in that room closed. */
  async untrack(taskId: string, sessionId: string) {
    this.sql.exec('DELETE FROM room_sessions WHERE session_id = ? AND task_id = ?', sessionId, taskId);
  }

  /** Closes the holder's sockets on every shard and in every room that has some; returns how many closed. */
  async closeSockets(organizationId: string, holder: LiveHolder, reason: string): Promise<number> {
    // A logout also ends the tickets that session minted and nobody has used yet (they live ≤ 60 s).
    if ('sessionId' in holder)
      this.sql.exec(
        'INSERT OR REPLACE INTO ended_sessions (session_id, until) VALUES (?, ?)',
        holder.sessionId,
        Date.now() + (WS_TICKET_TTL_SECONDS + 60) * 1000,
      );
    const [column, value] = 'sessionId' in holder ? ['session_id', holder.sessionId] : ['user_id', holder.userId];
    const rooms = this.sql.exec<{ task_id: string }>(`SELECT DISTINCT task_id FROM room_sessions WHERE ${column} = ?`, value).toArray();
    const shards = this.sharded ? Array.from({ length: HUB_SHARDS - 1 }, (_, i) => i + 1) : [];
    const counts = await Promise.all([
      this.closeDashboards(holder, reason),
      ...shards.map((shard) =>
        hubOf(this.env, organizationId, shard)
          .closeDashboards(holder, reason)
          .catch((err) => {
            console.warn('live sockets of a hub shard not closed', shard, String(err));
            return 0;
          }),
      ),
      ...rooms.map(async ({ task_id }) => {
        try {
          const n = await roomOf(this.env, task_id).closeViewers(holder, reason);
          this.sql.exec(`DELETE FROM room_sessions WHERE ${column} = ? AND task_id = ?`, value, task_id);
          return n;
        } catch (err) {
          console.warn('live sockets of a room not closed', task_id, String(err)); // its row stays for the next call
          return 0;
        }
      }),
    ]);
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Closes the holder's dashboards on this shard; returns how many. */
  async closeDashboards(holder: LiveHolder, reason: string): Promise<number> {
    let closed = 0;
    for (const ws of this.ctx.getWebSockets(holderTag(holder))) {
      try {
        ws.close(LIVE_ACCESS_ENDED, reason);
        closed++;
      } catch {
        /* already closed */
      }
    }
    return closed;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    if (message === 'ping') ws.send('pong');
  }

  override async webSocketClose(ws: WebSocket, code: number) {
    try {
      ws.close(code === 1005 ? 1000 : code, 'closing');
    } catch {
      /* already closed */
    }
  }
}
