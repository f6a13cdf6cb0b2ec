// Quarantines: members (developer+) park a flaky test with an owner, a reason and an expiry; everyone in
// the org reads the list (the dashboard sorts by owner and expiry). The reporter reads it with its API
// key and the agent with its token at the start of a run.
import { and, asc, eq, gt } from 'drizzle-orm';
import { Hono } from 'hono';
import { QuarantineActiveQuery, QuarantineCreateBody, QuarantineListQuery, QuarantineUpdateBody, type QuarantineEntry } from '../contracts/quarantine';
import { quarantines } from '../db/schema';
import type { AppEnv, CallerEnv } from '../env';
import { newId } from '../lib/crypto';
import { conflict, notFound } from '../lib/errors';
import { ok, readBody, readQuery } from '../lib/http';
import { requireAgent, requireRole, requireUserOrApiKey } from '../middleware/auth';
import { auditRow } from '../services/audit';
import { testKeyOf } from '../services/fingerprint';
import { findProject, projectFilterExists } from '../services/lookups';

type Row = typeof quarantines.$inferSelect;

export const quarantineEntry = (q: Row, now = Date.now()): QuarantineEntry => ({
  id: q.id,
  projectId: q.projectId,
  testKey: q.testKey,
  title: q.title,
  owner: q.owner,
  reason: q.reason,
  expiresAt: q.expiresAt,
  expired: q.expiresAt <= now,
  createdBy: q.createdBy,
  createdAt: q.createdAt,
});

async function findQuarantine(c: { var: CallerEnv['Variables'] }, id: string) {
  const [row] = await c.var.db
    .select()
    .from(quarantines)
    .where(and(eq(quarantines.id, id), eq(quarantines.organizationId, c.var.caller.organizationId)))
    .limit(1);
  if (!row) throw notFound('Quarantine');
  return row;
}

export const quarantineRoutes = new Hono<AppEnv>()
  .use(requireUserOrApiKey)
  .get('/', async (c) => {
    const q = readQuery(c, QuarantineListQuery);
    const now = Date.now();
    const [rows] = await Promise.all([
      c.var.db
        .select()
        .from(quarantines)
        .where(
          and(
            eq(quarantines.organizationId, c.var.caller.organizationId),
            ...(q.projectId ? [eq(quarantines.projectId, q.projectId)] : []),
            ...(q.includeExpired ? [] : [gt(quarantines.expiresAt, now)]),
          ),
        )
        .orderBy(asc(quarantines.owner), asc(quarantines.expiresAt))
        .limit(1000),
      projectFilterExists(c.var.db, c.var.caller.organizationId, q.projectId),
    ]);
    return ok(
      c,
      rows.map((r) => quarantineEntry(r, now)),
    );
  })
  .post('/', requireRole('developer'), async (c) => {
    const body = await readBody(c, QuarantineCreateBody);
    const project = await findProject(c.var.db, c.var.caller.organizationId, body.projectId);
    const caller = c.var.caller;
    const testKey = testKeyOf({ title: body.title, file: body.file });
    const now = Date.now();
    // An expired quarantine of the same test is replaced; one in force is a conflict.
    const [existing] = await c.var.db
      .select()
      .from(quarantines)
      .where(and(eq(quarantines.organizationId, caller.organizationId), eq(quarantines.projectId, project.id), eq(quarantines.testKey, testKey)))
      .limit(1);
    if (existing && existing.expiresAt > now)
      throw conflict('ALREADY_QUARANTINED', `This test is already quarantined until ${new Date(existing.expiresAt).toISOString()} (owner: ${existing.owner})`);
    const row: Row = {
      id: newId(),
      organizationId: caller.organizationId,
      projectId: project.id,
      testKey,
      title: body.title,
      owner: body.owner,
      reason: body.reason,
      expiresAt: body.expiresAt,
      createdBy: caller.kind === 'user' ? caller.userId : `api-key:${caller.apiKeyId}`,
      createdAt: now,
    };
    await c.var.db.batch([
      ...(existing ? [c.var.db.delete(quarantines).where(eq(quarantines.id, existing.id))] : []),
      c.var.db.insert(quarantines).values(row),
      auditRow(c, 'quarantine.created', 'quarantine', row.id, { testKey, owner: row.owner, expiresAt: row.expiresAt }),
    ] as unknown as Parameters<typeof c.var.db.batch>[0]);
    return ok(c, quarantineEntry(row, now), 201);
  })
  .patch('/:id', requireRole('developer'), async (c) => {
    const body = await readBody(c, QuarantineUpdateBody);
    const current = await findQuarantine(c, c.req.param('id'));
    const [row] = await c.var.db.update(quarantines).set(body).where(eq(quarantines.id, current.id)).returning();
    return ok(c, quarantineEntry(row!));
  })
  .delete('/:id', requireRole('developer'), async (c) => {
    const current = await findQuarantine(c, c.req.param('id'));
    await c.var.db.batch([
      c.var.db.delete(quarantines).where(eq(quarantines.id, current.id)),
      auditRow(c, 'quarantine.removed', 'quarantine', current.id, { testKey: current.testKey }),
    ]);
    return ok(c, { deleted: current.id });
  });

/** GET /api/agent/quarantines?projectId=: the quarantines in force for a project of the agent's org. */
export const agentQuarantineRoutes = new Hono<AppEnv>().use(requireAgent).get('/', async (c) => {
  const { projectId } = readQuery(c, QuarantineActiveQuery);
  const now = Date.now();
  const [rows] = await Promise.all([
    c.var.db
      .select()
      .from(quarantines)
      .where(and(eq(quarantines.organizationId, c.var.agent.organizationId), eq(quarantines.projectId, projectId), gt(quarantines.expiresAt, now)))
      .orderBy(asc(quarantines.testKey))
      .limit(1000),
    projectFilterExists(c.var.db, c.var.agent.organizationId, projectId),
  ]);
  return ok(
    c,
    rows.map((r) => quarantineEntry(r, now)),
  );
});
