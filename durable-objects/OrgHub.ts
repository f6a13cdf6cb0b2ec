// One hub per organization: every dashboard of the org holds a WebSocket here (hibernation API),
// and every execution status change is published to it and fanned out as `execution-updated`.
//
// The hub also knows which run rooms hold live sockets of which member session (rooms report them
// with track/untrack), so that closeLiveSockets — a logout, a member removed or given another role —
// closes that session's or member's sockets here and in every room.
//
// And it admits the org's WebSocket tickets (admitTicket): each is used once, and none minted by a
// session that has since logged out. Both are remembered only as long as a ticket lives (60 s), in
// this object's storage rather than D1: a dashboard opening a run costs D1 nothing.
import { DurableObject } from 'cloudflare:workers';
import { LIVE_ACCESS_ENDED, type HubMessage, type LiveHolder, type LiveTicket, type TicketVerdict } from '../worker/contracts/live';
import { WS_TICKET_TTL_SECONDS } from '../worker/lib/jwt';
import type { Env } from '../worker/env';
import { roomOf } from '../worker/bindings';

/** A socket's tags: its member's session and the member, when a member (not an API key) opened it. */
export const holderTags = (sessionId?: string | null, userId?: string | null) => (sessionId && userId ? [`session:${sessionId}`, `user:${userId}`] : []);
export const holderTag = (holder: LiveHolder) => ('sessionId' in holder ? `session:${holder.sessionId}` : `user:${holder.userId}`);

export class OrgHub extends DurableObject<Env> {
  private sql: SqlStorage;

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
    `);
  }

  /** The Worker forwards `/api/live` upgrades here after authenticating the member (?session&user). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket', { status: 426 });
    const url = new URL(request.url);
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], holderTags(url.searchParams.get('session'), url.searchParams.get('user')));
    pair[1].send(JSON.stringify({ type: 'hello' }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async publish(message: HubMessage): Promise<number> {
    const text = JSON.stringify(message);
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      try {
        ws.send(text);
      } catch {
        /* closing; the dashboard refetches on reconnect */
      }
    }
    return sockets.length;
  }

  async sockets(): Promise<number> {
    return this.ctx.getWebSockets().length;
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

  /** Closes the holder's sockets here and in every room that has some; returns how many closed. */
  async closeSockets(holder: LiveHolder, reason: string): Promise<number> {
    // A logout also ends the tickets that session minted and nobody has used yet (they live ≤ 60 s).
    if ('sessionId' in holder)
      this.sql.exec(
        'INSERT OR REPLACE INTO ended_sessions (session_id, until) VALUES (?, ?)',
        holder.sessionId,
        Date.now() + (WS_TICKET_TTL_SECONDS + 60) * 1000,
      );
    let closed = 0;
    for (const ws of this.ctx.getWebSockets(holderTag(holder))) {
      try {
        ws.close(LIVE_ACCESS_ENDED, reason);
        closed++;
      } catch {
        /* already closed */
      }
    }
    const [column, value] = 'sessionId' in holder ? ['session_id', holder.sessionId] : ['user_id', holder.userId];
    const rooms = this.sql.exec<{ task_id: string }>(`SELECT DISTINCT task_id FROM room_sessions WHERE ${column} = ?`, value).toArray();
    const counts = await Promise.all(
      rooms.map(async ({ task_id }) => {
        try {
          const n = await roomOf(this.env, task_id).closeViewers(holder, reason);
          this.sql.exec(`DELETE FROM room_sessions WHERE ${column} = ? AND task_id = ?`, value, task_id);
          return n;
        } catch (err) {
          console.warn('live sockets of a room not closed', task_id, String(err)); // its row stays for the next call
          return 0;
        }
      }),
    );
    return closed + counts.reduce((a, b) => a + b, 0);
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
