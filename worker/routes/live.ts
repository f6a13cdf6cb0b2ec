// Live WebSockets for browsers. A browser cannot set headers on a WebSocket, so it first trades its
// session for a ticket (single use, 60 s) and passes it as ?ticket=; the session cookie works too, from
// a trusted Origin. Sockets carry their session and member, so that logging out or a membership change
// closes them (services/live-sockets.ts).
import { Hono } from 'hono';
import { WsTicketBody } from '../contracts/auth';
import { LiveQuery } from '../contracts/runs';
import { jwtSecret, type AppEnv } from '../env';
import { ok, readBody, readQuery, relay } from '../lib/http';
import { signWsTicket } from '../lib/jwt';
import { requireUserOrApiKey } from '../middleware/auth';
import { hubOf } from '../bindings';
import { findExecution } from '../services/lookups';
import { authenticateLive, liveHolderParams } from '../middleware/live-auth';
import { requireWebSocket } from '../middleware/security';

export const wsTicketRoutes = new Hono<AppEnv>().post('/', requireUserOrApiKey, async (c) => {
  const { taskId } = await readBody(
    c,
    WsTicketBody.optional().transform((b) => b ?? {}),
  );
  const caller = c.var.caller;
  if (taskId) await findExecution(c.var.db, caller.organizationId, taskId);
  const ticket = await signWsTicket(jwtSecret(c.env), {
    organizationId: caller.organizationId,
    ...(caller.kind === 'user' ? { subject: caller.userId, sid: caller.jti } : { subject: caller.apiKeyId }),
    ...(taskId ? { taskId } : {}),
  });
  return ok(c, { ticket, expiresIn: 60 });
});

export const orgLiveRoutes = new Hono<AppEnv>().get('/', requireWebSocket, async (c) => {
  const { ticket } = readQuery(c, LiveQuery);
  const caller = await authenticateLive(c, ticket);
  return relay(await hubOf(c.env, caller.organizationId).fetch(liveHolderParams(new URL('http://hub/live'), caller), { headers: { upgrade: 'websocket' } }));
});
