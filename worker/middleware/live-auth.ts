// Who opens a live socket. A browser cannot set headers on a WebSocket, so it first trades its session
// for a ticket (single use, 60 s, admitted by the org's hub) and passes it as ?ticket=; the session
// cookie works too, from a trusted Origin. The holder is handed to the Durable Object that accepts the
// socket, which tags it, so that logging out or a membership change closes it (services/live-sockets.ts).
import type { Context } from 'hono';
import { hubOf } from '../bindings';
import { jwtSecret, type AppEnv } from '../env';
import { ApiError, unauthorized } from '../lib/errors';
import { verifyWsTicket } from '../lib/jwt';
import { sessionClaims, sessionFromCookie, userCaller } from './auth';
import { trustedOrigin } from './security';

/** Who holds a live socket: a member's session (closed when it ends or the member changes), or an API key. */
export type LiveCaller = { organizationId: string; userId?: string; sessionId?: string };

/**
 * Authenticates a live-socket caller from a ticket (consumed) or the session. A WebSocket upgrade is not
 * subject to CORS, so a socket opened with the cookie must come from a trusted page (its Origin);
 * tickets are fetched through a CORS-guarded POST and need no Origin.
 */
export async function authenticateLive<E extends AppEnv>(c: Context<E>, ticket: string | undefined, taskId?: string): Promise<LiveCaller> {
  if (ticket) {
    const claims = await verifyWsTicket(jwtSecret(c.env), ticket);
    if (!claims) throw unauthorized('Invalid or expired ticket');
    if (claims.taskId && claims.taskId !== taskId) throw unauthorized('This ticket is for another execution');
    // Admitted by the org's hub (used once, its session not ended): no D1 read or write.
    const verdict = await hubOf(c.env, claims.organizationId).admitTicket({ jti: claims.jti, exp: claims.exp, ...(claims.sid ? { sid: claims.sid } : {}) });
    if (verdict === 'session-ended') throw unauthorized('The session this ticket came from has ended');
    if (verdict === 'used') throw unauthorized('This ticket was already used; ask for a new one');
    return { organizationId: claims.organizationId, ...(claims.sid ? { userId: claims.subject, sessionId: claims.sid } : {}) };
  }
  if (sessionFromCookie(c) && !trustedOrigin(c.env, c.req.header('origin'))) {
    throw new ApiError(
      403,
      'ORIGIN_NOT_ALLOWED',
      'A live socket opened with the session cookie must come from the dashboard (Origin not allowed); use a ticket otherwise',
    );
  }
  const u = await userCaller(c, await sessionClaims(c));
  if (u.kind !== 'user') throw unauthorized();
  return { organizationId: u.organizationId, userId: u.userId, sessionId: u.jti };
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
