// Test cycles: create from test cases, list (with external-CI cycles), read with items, mark manual
// items, and run the automated ones.
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { Hono } from 'hono';
import { CycleCreateBody, CycleItemUpdateBody, CycleListQuery, CycleRunBody } from '../contracts/cycles';
import { testCases, testCycleItems, testCycles } from '../db/schema';
import type { AppEnv } from '../env';
import { newId } from '../lib/crypto';
import { ApiError, notFound } from '../lib/errors';
import { ok, readBody, readQuery } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { startCycleRuns } from '../services/cycle-runs';
import { recomputeCycle, summarize } from '../services/cycles';
import { findProject, projectFilterExists } from '../services/lookups';
import type { Db } from '../bindings';

async function findCycle(db: Db, organizationId: string, id: string) {
  const [row] = await db
    .select()
    .from(testCycles)
    .where(and(eq(testCycles.id, id), eq(testCycles.organizationId, organizationId)))
    .limit(1);
  if (!row) throw notFound('Test cycle');
  return row;
}

async function cycleWithItems(db: Db, organizationId: string, id: string) {
  const cycle = await findCycle(db, organizationId, id);
  const items = await db
    .select()
    .from(testCycleItems)
    .where(eq(testCycleItems.cycleId, cycle.id))
    .orderBy(asc(testCycleItems.createdAt), asc(testCycleItems.id));
  return { ...cycle, items };
}

export const testCycleRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const q = readQuery(c, CycleListQuery);
    const [rows] = await Promise.all([
      c.var.db
        .select()
        .from(testCycles)
        .where(
          and(
            eq(testCycles.organizationId, c.var.caller.organizationId),
            q.projectId ? eq(testCycles.projectId, q.projectId) : undefined,
            q.source ? eq(testCycles.source, q.source) : undefined,
          ),
        )
        .orderBy(desc(testCycles.createdAt))
        .limit(q.limit),
      projectFilterExists(c.var.db, c.var.caller.organizationId, q.projectId),
    ]);
    return ok(c, rows);
  })
  .post('/', requireRole('developer'), async (c) => {
    const body = await readBody(c, CycleCreateBody);
    const db = c.var.db;
    const organizationId = c.var.caller.organizationId;
    const project = await findProject(db, organizationId, body.projectId);
    const ids = [...new Set(body.items.map((i) => i.testCaseId))];
    const cases = new Map<string, typeof testCases.$inferSelect>();
    // D1 allows 100 bound parameters per statement.
    for (let i = 0; i < ids.length; i += 90) {
      const rows = await db
        .select()
        .from(testCases)
        .where(and(eq(testCases.organizationId, organizationId), eq(testCases.projectId, project.id), inArray(testCases.id, ids.slice(i, i + 90))));
      for (const r of rows) cases.set(r.id, r);
    }
    const missing = ids.filter((id) => !cases.has(id));
    if (missing.length) throw new ApiError(400, 'UNKNOWN_TEST_CASE', `Test case(s) not found in this project: ${missing.slice(0, 5).join(', ')}`, { missing });

    const now = Date.now();
    const cycleId = newId();
    const userId = c.var.caller.kind === 'user' ? c.var.caller.userId : null;
    // createdAt + index keeps the order the items were given in.
    const items = body.items.map((it, index) => {
      const tc = cases.get(it.testCaseId)!;
      return {
        id: newId(),
        organizationId,
        cycleId,
        testCaseId: tc.id,
        type: it.type ?? tc.type,
        title: tc.title,
        status: 'PENDING',
        notes: null,
        taskId: null,
        updatedBy: null,
        createdAt: now + index,
        updatedAt: now,
      };
    });
    const { summary, status } = summarize(items);
    const cycle = {
      id: cycleId,
      organizationId,
      projectId: project.id,
      name: body.name,
      status,
      source: 'manual',
      taskId: null,
      summary,
      createdBy: userId,
      createdAt: now,
      updatedAt: now,
    };
    const inserts = [];
    // Items per statement stay under the 100-parameter limit (11 columns each).
    for (let i = 0; i < items.length; i += 8) inserts.push(db.insert(testCycleItems).values(items.slice(i, i + 8)));
    await db.batch([db.insert(testCycles).values(cycle), ...inserts]);
    return ok(c, { ...cycle, items }, 201);
  })
  .get('/:id', async (c) => ok(c, await cycleWithItems(c.var.db, c.var.caller.organizationId, c.req.param('id'))))
  .delete('/:id', requireRole('developer'), async (c) => {
    const cycle = await findCycle(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    await c.var.db.batch([
      c.var.db.delete(testCycleItems).where(eq(testCycleItems.cycleId, cycle.id)),
      c.var.db.delete(testCycles).where(eq(testCycles.id, cycle.id)),
    ]);
    return ok(c, { deleted: cycle.id });
  })
  .patch('/:id/items/:itemId', requireRole('developer'), async (c) => {
    const body = await readBody(c, CycleItemUpdateBody);
    const db = c.var.db;
    const cycle = await findCycle(db, c.var.caller.organizationId, c.req.param('id'));
    const [item] = await db
      .select()
      .from(testCycleItems)
      .where(and(eq(testCycleItems.id, c.req.param('itemId')), eq(testCycleItems.cycleId, cycle.id)))
      .limit(1);
    if (!item) throw notFound('Cycle item');
    if (body.status !== undefined && item.type === 'automated') {
      throw new ApiError(409, 'AUTOMATED_ITEM', 'An automated item takes its status from its run; run the cycle instead (notes can still be edited)');
    }
    await db
      .update(testCycleItems)
      .set({
        ...(body.status !== undefined ? { status: body.status } : {}),
        ...(body.notes !== undefined ? { notes: body.notes } : {}),
        updatedBy: c.var.caller.kind === 'user' ? c.var.caller.userId : null,
        updatedAt: Date.now(),
      })
      .where(eq(testCycleItems.id, item.id));
    await recomputeCycle(db, cycle.id);
    return ok(c, await cycleWithItems(db, cycle.organizationId, cycle.id));
  })
  .post('/:id/run', requireRole('developer'), async (c) => {
    const body = await readBody(c, CycleRunBody);
    const db = c.var.db;
    const cycle = await findCycle(db, c.var.caller.organizationId, c.req.param('id'));
    if (cycle.source !== 'manual') throw new ApiError(409, 'EXTERNAL_CYCLE', 'This cycle records an external CI run; it cannot be run from here');
    const result = await startCycleRuns(c.env, db, c.var.caller, cycle, body);
    return ok(c, { ...result, cycle: await cycleWithItems(db, cycle.organizationId, cycle.id) }, 201);
  });
