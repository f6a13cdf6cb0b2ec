// Test cases: CRUD, search and filter (project, suite, tag, type, words), and AI step generation.
import { and, asc, desc, eq, or, sql, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { GenerateStepsBody, TestCaseCreateBody, TestCaseListQuery, TestCaseUpdateBody } from '../contracts/test-cases';
import { testCases } from '../db/schema';
import type { AppEnv } from '../env';
import { newId } from '../lib/crypto';
import { notFound } from '../lib/errors';
import { ok, readBody, readQuery } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { generateSteps } from '../services/test-case-steps';
import { findProject, projectFilterExists } from '../services/lookups';
import type { Db } from '../bindings';

export async function findTestCase(db: Db, organizationId: string, id: string) {
  const [row] = await db
    .select()
    .from(testCases)
    .where(and(eq(testCases.id, id), eq(testCases.organizationId, organizationId)))
    .limit(1);
  if (!row) throw notFound('Test case');
  return row;
}

/** LIKE with the user's text taken literally. */
const contains = (text: string) => `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;

export const testCaseRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const q = readQuery(c, TestCaseListQuery);
    const filters: Array<SQL | undefined> = [
      eq(testCases.organizationId, c.var.caller.organizationId),
      q.projectId ? eq(testCases.projectId, q.projectId) : undefined,
      q.suite ? eq(testCases.suite, q.suite) : undefined,
      q.type ? eq(testCases.type, q.type) : undefined,
      q.tag ? sql`exists (select 1 from json_each(${testCases.tags}) where json_each.value = ${q.tag})` : undefined,
      q.q ? or(sql`${testCases.title} like ${contains(q.q)} escape '\\'`, sql`${testCases.description} like ${contains(q.q)} escape '\\'`) : undefined,
    ];
    const [rows] = await Promise.all([
      c.var.db
        .select()
        .from(testCases)
        .where(and(...filters))
        .orderBy(asc(testCases.suite), desc(testCases.createdAt))
        .limit(q.limit),
      projectFilterExists(c.var.db, c.var.caller.organizationId, q.projectId),
    ]);
    return ok(c, rows);
  })
  /** The suites and tags in use (filter menus). */
  .get('/facets', async (c) => {
    const projectId = c.req.query('projectId');
    const where = and(eq(testCases.organizationId, c.var.caller.organizationId), projectId ? eq(testCases.projectId, projectId) : undefined);
    const [[suites, tags]] = await Promise.all([
      c.var.db.batch([
        c.var.db.selectDistinct({ suite: testCases.suite }).from(testCases).where(where).orderBy(asc(testCases.suite)).limit(500),
        c.var.db.select({ tag: sql<string>`distinct json_each.value` }).from(sql`${testCases}, json_each(${testCases.tags})`).where(where).limit(500),
      ]),
      projectFilterExists(c.var.db, c.var.caller.organizationId, projectId),
    ]);
    return ok(c, { suites: suites.map((s) => s.suite).filter((s): s is string => !!s), tags: tags.map((t) => t.tag).sort() });
  })
  .post('/generate-steps', requireRole('developer'), async (c) => {
    const body = await readBody(c, GenerateStepsBody);
    if (body.projectId) await findProject(c.var.db, c.var.caller.organizationId, body.projectId);
    return ok(c, await generateSteps(c.env, c.var.caller.organizationId, body));
  })
  .post('/', requireRole('developer'), async (c) => {
    const body = await readBody(c, TestCaseCreateBody);
    const project = await findProject(c.var.db, c.var.caller.organizationId, body.projectId);
    const now = Date.now();
    const row = {
      id: newId(),
      organizationId: c.var.caller.organizationId,
      projectId: project.id,
      title: body.title,
      suite: body.suite ?? null,
      description: body.description ?? null,
      preconditions: body.preconditions ?? null,
      steps: body.steps,
      priority: body.priority,
      tags: body.tags,
      type: body.type,
      automatedTest: body.automatedTest ?? null,
      createdBy: c.var.caller.kind === 'user' ? c.var.caller.userId : null,
      createdAt: now,
      updatedAt: now,
    };
    await c.var.db.insert(testCases).values(row);
    return ok(c, row, 201);
  })
  .get('/:id', async (c) => ok(c, await findTestCase(c.var.db, c.var.caller.organizationId, c.req.param('id'))))
  .patch('/:id', requireRole('developer'), async (c) => {
    const body = await readBody(c, TestCaseUpdateBody);
    const current = await findTestCase(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    const [row] = await c.var.db
      .update(testCases)
      .set({ ...body, updatedAt: Date.now() })
      .where(eq(testCases.id, current.id))
      .returning();
    return ok(c, row);
  })
  .delete('/:id', requireRole('developer'), async (c) => {
    const row = await findTestCase(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    await c.var.db.delete(testCases).where(eq(testCases.id, row.id));
    return ok(c, { deleted: row.id });
  });
