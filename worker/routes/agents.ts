// Managing an org's agents: registration tokens (admin), the list with online state, disabling.
import { forgetAgent } from '../services/credentials';
import { and, desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { AgentUpdateBody, RegistrationTokenBody } from '../contracts/agents-admin';
import { LEASE_TTL_MS, POLL_WAIT_MS } from '../contracts/agent';
import { agentRegistrationTokens, agents } from '../db/schema';
import type { AppEnv, Env } from '../env';
import { dispatcherOf } from '../bindings';
import { homeShard } from '../runs/queue';
import type { AgentSeen } from '../../durable-objects/Dispatcher';
import type { AgentRow } from '../services/credentials';
import { newId, randomToken, sha256Hex } from '../lib/crypto';
import { notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { auditRow } from '../services/audit';

/** An agent polls at least every POLL_WAIT_MS and heartbeats while it runs; silence past this is offline. */
export const ONLINE_WINDOW_MS = POLL_WAIT_MS + LEASE_TTL_MS;

/**
 * D1 holds lastSeenAt and runningJobs at most a minute old; the queues' Dispatchers know what each
 * agent said last (agentsSeen). The fresher of the two wins; a Dispatcher that cannot answer leaves D1's.
 */
async function withLiveState(env: Env, rows: AgentRow[]): Promise<AgentRow[]> {
  // An agent's polls reach its home shard first, whatever else they ask.
  const homes = [...new Set(rows.map((r) => homeShard(r.queue, r.id)))];
  const heard = await Promise.all(
    homes.map((home) =>
      dispatcherOf(env, home)
        .agentsSeen(rows.filter((r) => homeShard(r.queue, r.id) === home).map((r) => r.id))
        .catch(() => ({}) as Record<string, AgentSeen>),
    ),
  );
  const seen = Object.assign({}, ...heard) as Record<string, AgentSeen>;
  return rows.map((r) => {
    const live = seen[r.id];
    return live && live.at > (r.lastSeenAt ?? 0) ? { ...r, lastSeenAt: live.at, runningJobs: live.running } : r;
  });
}

const publicAgent = (a: typeof agents.$inferSelect, now = Date.now()) => ({
  id: a.id,
  name: a.name,
  labels: a.labels,
  arch: a.arch,
  os: a.os,
  version: a.version,
  concurrency: a.concurrency,
  disabled: a.disabled,
  runningJobs: a.runningJobs,
  lastSeenAt: a.lastSeenAt,
  createdAt: a.createdAt,
  online: !a.disabled && a.lastSeenAt !== null && now - a.lastSeenAt < ONLINE_WINDOW_MS,
  /** False while the agent says it cannot run jobs (healthProblem says why, e.g. Docker unreachable). */
  healthy: a.healthProblem === null,
  healthProblem: a.healthProblem,
});

export const agentAdminRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const rows = await c.var.db.select().from(agents).where(eq(agents.organizationId, c.var.caller.organizationId)).orderBy(desc(agents.createdAt)).limit(500);
    return ok(
      c,
      (await withLiveState(c.env, rows)).map((r) => publicAgent(r)),
    );
  })
  .post('/registration-tokens', requireRole('admin'), async (c) => {
    const { expiresInMinutes } = await readBody(
      c,
      RegistrationTokenBody.optional().transform((b) => b ?? RegistrationTokenBody.parse({})),
    );
    const token = `agr_${randomToken(40)}`;
    const row = {
      id: newId(),
      organizationId: c.var.caller.organizationId,
      tokenHash: await sha256Hex(token),
      createdBy: c.var.caller.kind === 'user' ? c.var.caller.userId : 'api',
      expiresAt: Date.now() + expiresInMinutes * 60_000,
      createdAt: Date.now(),
    };
    const db = c.var.db;
    await db.batch([db.insert(agentRegistrationTokens).values(row), auditRow(c, 'agent.registration_token_created', 'agent_registration_token', row.id)]);
    const url = c.env.PUBLIC_URL.replace(/\/$/, '');
    return ok(
      c,
      {
        token,
        expiresAt: row.expiresAt,
        // The token stays out of both commands' argv (seen in `ps`): the installer asks for it, the agent reads it from its environment.
        installCommand: `curl -fsSL ${url}/install-agent.sh | sudo AGNOX_URL=${url} bash`,
        runCommand: `AGNOX_TOKEN=${token} npx @agnox/agent --url ${url}`,
      },
      201,
    );
  })
  .patch('/:id', requireRole('admin'), async (c) => {
    const { disabled } = await readBody(c, AgentUpdateBody);
    const [row] = await c.var.db
      .update(agents)
      .set({ disabled })
      .where(and(eq(agents.id, c.req.param('id')), eq(agents.organizationId, c.var.caller.organizationId)))
      .returning();
    if (!row) throw notFound('Agent');
    forgetAgent(row.id);
    await auditRow(c, disabled ? 'agent.disabled' : 'agent.enabled', 'agent', row.id);
    return ok(c, publicAgent(row));
  })
  .delete('/:id', requireRole('admin'), async (c) => {
    const [row] = await c.var.db
      .delete(agents)
      .where(and(eq(agents.id, c.req.param('id')), eq(agents.organizationId, c.var.caller.organizationId)))
      .returning({ id: agents.id });
    if (!row) throw notFound('Agent');
    forgetAgent(row.id);
    await auditRow(c, 'agent.removed', 'agent', row.id);
    return ok(c, { removed: row.id });
  });
