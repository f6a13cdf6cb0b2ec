// Schedules: CRUD, enable/disable, and a preview of the next run times for an expression.
import { and, desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { NextRunsQuery, ScheduleCreateBody, ScheduleUpdateBody, cronProblem } from '../contracts/schedules';
import { schedules } from '../db/schema';
import type { AppEnv } from '../env';
import { newId } from '../lib/crypto';
import { ApiError, notFound } from '../lib/errors';
import { ok, readBody, readQuery } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { nextSlot, nextSlots, publicSchedule } from '../services/scheduler';
import { findProject, projectFilterExists } from '../services/lookups';
import type { Db } from '../bindings';

async function findSchedule(db: Db, organizationId: string, id: string) {
  const [row] = await db
    .select()
    .from(schedules)
    .where(and(eq(schedules.id, id), eq(schedules.organizationId, organizationId)))
    .limit(1);
  if (!row) throw notFound('Schedule');
  return row;
}

export const scheduleRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const projectId = c.req.query('projectId');
    const [rows] = await Promise.all([
      c.var.db
        .select()
        .from(schedules)
        .where(and(eq(schedules.organizationId, c.var.caller.organizationId), projectId ? eq(schedules.projectId, projectId) : undefined))
        .orderBy(desc(schedules.createdAt))
        .limit(500),
      projectFilterExists(c.var.db, c.var.caller.organizationId, projectId),
    ]);
    const now = Date.now();
    return ok(
      c,
      rows.map((r) => publicSchedule(r, now)),
    );
  })
  // Registered before /:id so "next-runs" is not taken for an id.
  .get('/next-runs', async (c) => {
    const q = readQuery(c, NextRunsQuery);
    return ok(c, { cron: q.cron, timezone: q.timezone, nextRuns: nextSlots(q.cron, q.timezone, Date.now(), q.count) });
  })
  .post('/', requireRole('developer'), async (c) => {
    const body = await readBody(c, ScheduleCreateBody);
    const project = await findProject(c.var.db, c.var.caller.organizationId, body.projectId);
    const now = Date.now();
    const row = {
      id: newId(),
      organizationId: c.var.caller.organizationId,
      projectId: project.id,
      name: body.name,
      cron: body.cron,
      timezone: body.timezone,
      environment: body.environment ?? null,
      image: body.image ?? null,
      folder: body.folder ?? null,
      baseUrl: body.baseUrl ?? null,
      labels: body.labels ?? null,
      enabled: body.enabled,
      lastRunAt: null,
      nextRunAt: body.enabled ? nextSlot(body.cron, body.timezone, now) : null,
      createdBy: c.var.caller.kind === 'user' ? c.var.caller.userId : null,
      createdAt: now,
      updatedAt: now,
    };
    await c.var.db.insert(schedules).values(row);
    return ok(c, publicSchedule(row, now), 201);
  })
  .get('/:id', async (c) => ok(c, publicSchedule(await findSchedule(c.var.db, c.var.caller.organizationId, c.req.param('id')))))
  .patch('/:id', requireRole('developer'), async (c) => {
    const body = await readBody(c, ScheduleUpdateBody);
    const db = c.var.db;
    const current = await findSchedule(db, c.var.caller.organizationId, c.req.param('id'));
    const merged = { ...current, ...body };
    // A new time zone is checked against the stored expression too.
    const problem = body.timezone !== undefined ? cronProblem(merged.cron, merged.timezone) : null;
    if (problem)
      throw new ApiError(400, 'VALIDATION_ERROR', `Invalid request body: cron: invalid CRON expression: ${problem}`, {
        issues: [{ path: ['cron'], message: problem, code: 'custom' }],
      });
    const now = Date.now();
    // Any change of timing (or re-enabling) starts from the next slot after now.
    const timingChanged = body.cron !== undefined || body.timezone !== undefined || body.enabled !== undefined;
    const nextRunAt = !merged.enabled ? null : timingChanged || current.nextRunAt === null ? nextSlot(merged.cron, merged.timezone, now) : current.nextRunAt;
    const [row] = await db
      .update(schedules)
      .set({ ...body, nextRunAt, updatedAt: now })
      .where(and(eq(schedules.id, current.id), eq(schedules.organizationId, current.organizationId)))
      .returning();
    return ok(c, publicSchedule(row!, now));
  })
  .delete('/:id', requireRole('developer'), async (c) => {
    const row = await findSchedule(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    await c.var.db.delete(schedules).where(eq(schedules.id, row.id));
    return ok(c, { deleted: row.id });
  });
