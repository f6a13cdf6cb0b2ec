// Live WebSockets for browsers. A browser cannot set headers on a WebSocket, so it first trades its
// session for a ticket (single use, 60 s) and passes it as ?ticket=; the session cookie works too.
import { eq } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { WsTicketBody } from '../contracts/auth';
import { LiveQuery } from '../contracts/runs';
import { revokedTokens } from '../db/schema';
import { jwtSecret, type AppEnv } from '../env';
import { ApiError, unauthorized } from '../lib/errors';
import { ok, readBody, readQuery, relay } from '../lib/http';
import { signWsTicket, verifyWsTicket } from '../lib/jwt';
import { requireUser, requireUserOrApiKey } from '../middleware/auth';
import { hubOf } from '../services/executions';
import { findExecution } from './executions';

/** Resolves the organization of a live-socket caller from a ticket (consumed) or the session cookie. */
export async function authenticateLive(c: Context<AppEnv>, ticket: string | undefined, taskId?: string): Promise<string> {
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
    return claims.organizationId;
  }
  let organizationId: string | undefined;
  await requireUser(c, async () => { organizationId = c.var.caller.organizationId; });
  if (!organizationId) throw unauthorized();
  return organizationId;
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
    const organizationId = await authenticateLive(c, ticket);
    return relay(await hubOf(c.env, organizationId).fetch('http://hub/live', { headers: { upgrade: 'websocket' } }));
  });
