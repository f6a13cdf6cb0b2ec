// Live WebSockets for browsers. A browser cannot set headers on a WebSocket, so it first trades its
// session for a ticket (single use, 60 s) and passes it as ?ticket=; the session cookie works too, from
// a trusted Origin. Sockets carry their session and member, so that logging out or a membership change
// closes them (services/live-sockets.ts).
import { eq } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { WsTicketBody } from '../contracts/auth';
import { LiveQuery } from '../contracts/runs';
import { revokedTokens } from '../db/schema';
import { jwtSecret, type AppEnv } from '../env';
import { ApiError, unauthorized } from '../lib/errors';
import { ok, readBody, readQuery, relay } from '../lib/http';
import { signWsTicket, verifyWsTicket } from '../lib/jwt';
import { requireUser, requireUserOrApiKey, sessionFromCookie } from '../middleware/auth';
import { trustedOrigin } from '../middleware/security';
import { hubOf } from '../bindings';
import { findExecution } from './executions';

/** Who holds a live socket: a member's session (closed when it ends or the member changes), or an API key. */
export type LiveCaller = { organizationId: string; userId?: string; sessionId?: string };

/**
 * Authenticates a live-socket caller from a ticket (consumed) or the session. A WebSocket upgrade is not
 * subject to CORS, so a socket opened with the cookie must come from a trusted page (its Origin);
 * tickets are fetched through a CORS-guarded POST and need no Origin.
 */
export async function authenticateLive(c: Context<AppEnv>, ticket: string | undefined, taskId?: string): Promise<LiveCaller> {
  if (ticket) {
    const claims = await verifyWsTicket(jwtSecret(c.env), ticket);
    if (!claims) throw unauthorized('Invalid or expired ticket');
    if (claims.taskId && claims.taskId !== taskId) throw unauthorized('This ticket is for another execution');
    if (claims.sid) {
      const [ended] = await c.var.db.select({ jti: revokedTokens.jti }).from(revokedTokens).where(eq(revokedTokens.jti, claims.sid)).limit(1);
      if (ended) throw unauthorized('The session this ticket came from has ended');
    }
    const [used] = await c.var.db.insert(revokedTokens).values({ jti: claims.jti, expiresAt: claims.exp * 1000 })
      .onConflictDoNothing().returning({ jti: revokedTokens.jti });
    if (!used) throw unauthorized('This ticket was already used; ask for a new one');
    return { organizationId: claims.organizationId, ...(claims.sid ? { userId: claims.subject, sessionId: claims.sid } : {}) };
  }
  if (sessionFromCookie(c) && !trustedOrigin(c.env, c.req.header('origin'))) {
    throw new ApiError(403, 'ORIGIN_NOT_ALLOWED', 'A live socket opened with the session cookie must come from the dashboard (Origin not allowed); use a ticket otherwise');
  }
  let caller: LiveCaller | undefined;
  await requireUser(c, async () => {
    const u = c.var.caller;
    if (u.kind === 'user') caller = { organizationId: u.organizationId, userId: u.userId, sessionId: u.jti };
  });
  if (!caller) throw unauthorized();
  return caller;
}

/** The holder of a live socket, for the Durable Object that accepts it (tags its socket). */
export function liveHolderParams(url: URL, caller: LiveCaller) {
  url.searchParams.set('org', caller.organizationId);
  if (caller.sessionId && caller.userId) {
    url.searchParams.set('session', caller.sessionId);
    url.searchParams.set('user', caller.userId);
  }
  return url;
}

export const wsTicketRoutes = new Hono<AppEnv>()
  .post('/', requireUserOrApiKey, async (c) => {
    const { taskId } = await readBody(c, WsTicketBody.optional().transform((b) => b ?? {}));
    const caller = c.var.caller;
    if (taskId) await findExecution(c.var.db, caller.organizationId, taskId);
    const ticket = await signWsTicket(jwtSecret(c.env), {
      organizationId: caller.organizationId, ...(caller.kind === 'user' ? { subject: caller.userId, sid: caller.jti } : { subject: caller.apiKeyId }),
      ...(taskId ? { taskId } : {}),
    });
    return ok(c, { ticket, expiresIn: 60 });
  });

export const orgLiveRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new ApiError(426, 'UPGRADE_REQUIRED', 'This endpoint is a WebSocket');
    const { ticket } = readQuery(c, LiveQuery);
    const caller = await authenticateLive(c, ticket);
    return relay(await hubOf(c.env, caller.organizationId).fetch(liveHolderParams(new URL('http://hub/live'), caller), { headers: { upgrade: 'websocket' } }));
  });
