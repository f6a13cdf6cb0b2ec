// The caller's organization: members read (the Slack webhook URL is for admins), admins change name, AI opt-out and Slack webhook.
import { desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { OrganizationUpdateBody } from '../contracts/auth';
import { auditLogs, organizations } from '../db/schema';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { publicOrganization } from '../services/accounts';
import { auditRow } from '../services/audit';

export const organizationRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const [org] = await c.var.db.select().from(organizations).where(eq(organizations.id, c.var.caller.organizationId)).limit(1);
    if (!org) throw notFound('Organization');
    return ok(c, publicOrganization(org, c.var.caller.role));
  })
  .patch('/', requireRole('admin'), async (c) => {
    const body = await readBody(c, OrganizationUpdateBody);
    const db = c.var.db;
    const [[org]] = await db.batch([
      db
        .update(organizations)
        .set({ ...body, updatedAt: Date.now() })
        .where(eq(organizations.id, c.var.caller.organizationId))
        .returning(),
      auditRow(c, 'organization.updated', 'organization', c.var.caller.organizationId, { fields: Object.keys(body) }),
    ]);
    if (!org) throw notFound('Organization');
    return ok(c, publicOrganization(org, c.var.caller.role));
  })
  .get('/audit-logs', requireRole('admin'), async (c) => {
    const rows = await c.var.db
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.organizationId, c.var.caller.organizationId))
      .orderBy(desc(auditLogs.createdAt))
      .limit(200);
    return ok(c, rows);
  });
