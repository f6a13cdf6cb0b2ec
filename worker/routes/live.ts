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
import { requireRole, requireUser, requireUserOrApiKey } from '../middleware/auth';
import { hubOf } from '../bindings';
import { findExecution } from '../services/lookups';
import { hubStats } from '../services/live-sockets';
import { HUB_SHARD_HEADER } from '../contracts/live';
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

export const orgLiveRoutes = new Hono<AppEnv>()
  .get('/', requireWebSocket, async (c) => {
    const { ticket } = readQuery(c, LiveQuery);
    const caller = await authenticateLive(c, ticket);
    // The org's home hub shard takes the dashboard, or names the shard that does once it is full (OrgHub.ts).
    const url = liveHolderParams(new URL('http://hub/live'), caller);
    const upgrade = { headers: { upgrade: 'websocket' } };
    const home = await hubOf(c.env, caller.organizationId).fetch(url, upgrade);
    const shard = Number(home.headers.get(HUB_SHARD_HEADER));
    if (!shard) return relay(home);
    url.searchParams.set('shard', String(shard));
    return relay(await hubOf(c.env, caller.organizationId, shard).fetch(url, upgrade));
  })
  /** How many dashboards the org's hub holds and the messages it sends them, per shard (admins). */
  .get('/stats', requireUser, requireRole('admin'), async (c) => ok(c, await hubStats(c.env, c.var.caller.organizationId)));
