// Projects (what to run: image, command, folder, timeout) and their per-environment run settings.
import { and, desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { EnvironmentParam, ProjectCreateBody, ProjectUpdateBody, RunSettingsBody } from '../contracts/projects';
import { projectRunSettings, projects } from '../db/schema';
import type { AppEnv } from '../env';
import { newId } from '../lib/crypto';
import { isUniqueViolation } from '../lib/db-errors';
import { conflict, notFound } from '../lib/errors';
import { ok, parse, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { findProject } from '../services/lookups';

export const SECRET_MASK = '••••••••';

/** Run settings as members see them: secret values never leave the control plane except to the agent running the job. */
const publicSettings = (s: typeof projectRunSettings.$inferSelect) => ({
  environment: s.environment,
  baseUrl: s.baseUrl,
  variables: s.variables,
  secretVariables: Object.fromEntries(Object.keys(s.secretVariables).map((k) => [k, SECRET_MASK])),
  updatedAt: s.updatedAt,
});

const uniqueName = (err: unknown) => {
  if (isUniqueViolation(err)) throw conflict('PROJECT_EXISTS', 'A project with this name already exists');
  throw err;
};

export const projectRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const rows = await c.var.db
      .select()
      .from(projects)
      .where(eq(projects.organizationId, c.var.caller.organizationId))
      .orderBy(desc(projects.createdAt))
      .limit(500);
    return ok(c, rows);
  })
  .post('/', requireRole('developer'), async (c) => {
    const body = await readBody(c, ProjectCreateBody);
    const now = Date.now();
    const row = {
      id: newId(),
      organizationId: c.var.caller.organizationId,
      command: null,
      testFolder: null,
      ...body,
      createdAt: now,
      updatedAt: now,
    };
    await c.var.db.insert(projects).values(row).catch(uniqueName);
    return ok(c, row, 201);
  })
  .get('/:id', async (c) => ok(c, await findProject(c.var.db, c.var.caller.organizationId, c.req.param('id'))))
  .patch('/:id', requireRole('developer'), async (c) => {
    const body = await readBody(c, ProjectUpdateBody);
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    const [row] = await c.var.db
      .update(projects)
      .set({ ...body, updatedAt: Date.now() })
      .where(eq(projects.id, project.id))
      .returning()
      .catch(uniqueName);
    return ok(c, row);
  })
  .delete('/:id', requireRole('developer'), async (c) => {
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    await c.var.db.delete(projects).where(eq(projects.id, project.id));
    return ok(c, { deleted: project.id });
  })
  .get('/:id/run-settings', async (c) => {
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    const rows = await c.var.db.select().from(projectRunSettings).where(eq(projectRunSettings.projectId, project.id));
    return ok(c, rows.map(publicSettings));
  })
  .put('/:id/run-settings/:environment', requireRole('developer'), async (c) => {
    const environment = parse(EnvironmentParam, c.req.param('environment'), 'environment');
    const body = await readBody(c, RunSettingsBody);
    const db = c.var.db;
    const project = await findProject(db, c.var.caller.organizationId, c.req.param('id'));
    const [current] = await db
      .select()
      .from(projectRunSettings)
      .where(and(eq(projectRunSettings.projectId, project.id), eq(projectRunSettings.environment, environment)))
      .limit(1);
    const secrets = { ...(current?.secretVariables ?? {}) };
    for (const [name, value] of Object.entries(body.secretVariables ?? {})) {
      if (value === null) delete secrets[name];
      else secrets[name] = value;
    }
    const now = Date.now();
    const values = {
      baseUrl: body.baseUrl !== undefined ? body.baseUrl : (current?.baseUrl ?? null),
      variables: body.variables ?? current?.variables ?? {},
      secretVariables: secrets,
      updatedAt: now,
    };
    const [row] = await db
      .insert(projectRunSettings)
      .values({ id: newId(), organizationId: project.organizationId, projectId: project.id, environment, createdAt: now, ...values })
      .onConflictDoUpdate({ target: [projectRunSettings.projectId, projectRunSettings.environment], set: values })
      .returning();
    return ok(c, publicSettings(row!));
  })
  .delete('/:id/run-settings/:environment', requireRole('developer'), async (c) => {
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('id'));
    const [row] = await c.var.db
      .delete(projectRunSettings)
      .where(and(eq(projectRunSettings.projectId, project.id), eq(projectRunSettings.environment, c.req.param('environment'))))
      .returning({ id: projectRunSettings.id });
    if (!row) throw notFound('Run settings');
    return ok(c, { deleted: c.req.param('environment') });
  });
