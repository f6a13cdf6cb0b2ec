// Members of the caller's organization. Members read; admins change roles and remove (which closes the
// member's live sockets).
import { and, count, desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { UserUpdateBody } from '../contracts/auth';
import { users } from '../db/schema';
import type { AppEnv, CallerEnv } from '../env';
import { conflict, notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { publicUser } from '../services/accounts';
import { auditRow } from '../services/audit';
import { closeLiveSockets } from '../services/live-sockets';

async function orgUser(c: { var: CallerEnv['Variables'] }, id: string) {
  const [user] = await c.var.db
    .select()
    .from(users)
    .where(and(eq(users.id, id), eq(users.organizationId, c.var.caller.organizationId)))
    .limit(1);
  if (!user) throw notFound('User');
  return user;
}

async function adminCount(c: { var: CallerEnv['Variables'] }) {
  const [row] = await c.var.db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.organizationId, c.var.caller.organizationId), eq(users.role, 'admin')));
  return row?.n ?? 0;
}

export const userRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/', async (c) => {
    const rows = await c.var.db.select().from(users).where(eq(users.organizationId, c.var.caller.organizationId)).orderBy(desc(users.createdAt)).limit(500);
    return ok(c, rows.map(publicUser));
  })
  .patch('/:id', requireRole('admin'), async (c) => {
    const { role } = await readBody(c, UserUpdateBody);
    const user = await orgUser(c, c.req.param('id'));
    if (user.role === 'admin' && role !== 'admin' && (await adminCount(c)) <= 1) {
      throw conflict('LAST_ADMIN', 'An organization needs at least one admin');
    }
    const db = c.var.db;
    await db.batch([
      db.update(users).set({ role, updatedAt: Date.now() }).where(eq(users.id, user.id)),
      auditRow(c, 'user.role_changed', 'user', user.id, { from: user.role, to: role }),
    ]);
    if (role !== user.role) await closeLiveSockets(c.env, user.organizationId, { userId: user.id }, 'role changed');
    return ok(c, publicUser({ ...user, role }));
  })
  .delete('/:id', requireRole('admin'), async (c) => {
    const user = await orgUser(c, c.req.param('id'));
    const caller = c.var.caller;
    if (caller.kind === 'user' && caller.userId === user.id) throw conflict('CANNOT_REMOVE_SELF', 'You cannot remove yourself');
    if (user.role === 'admin' && (await adminCount(c)) <= 1) throw conflict('LAST_ADMIN', 'An organization needs at least one admin');
    const db = c.var.db;
    await db.batch([db.delete(users).where(eq(users.id, user.id)), auditRow(c, 'user.removed', 'user', user.id, { email: user.email })]);
    await closeLiveSockets(c.env, user.organizationId, { userId: user.id }, 'removed from the organization');
    return ok(c, { removed: user.id });
  });
