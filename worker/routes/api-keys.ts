// API keys for CI and the reporter: created by admins, shown once, stored as SHA-256, listed by prefix.
import { forgetApiKey } from '../services/credentials';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { ApiKeyCreateBody } from '../contracts/auth';
import { apiKeys } from '../db/schema';
import type { AppEnv } from '../env';
import { newId, randomToken, sha256Hex } from '../lib/crypto';
import { notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { auditRow } from '../services/audit';

export const API_KEY_PREFIX = 'agx_';

const publicKey = (k: typeof apiKeys.$inferSelect) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdBy: k.createdBy,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

export const apiKeyRoutes = new Hono<AppEnv>()
  .use(requireUser, requireRole('admin'))
  .get('/', async (c) => {
    const rows = await c.var.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.organizationId, c.var.caller.organizationId))
      .orderBy(desc(apiKeys.createdAt))
      .limit(500);
    return ok(c, rows.map(publicKey));
  })
  .post('/', async (c) => {
    const { name } = await readBody(c, ApiKeyCreateBody);
    const key = `${API_KEY_PREFIX}${randomToken(40)}`;
    const row = {
      id: newId(),
      organizationId: c.var.caller.organizationId,
      name,
      prefix: key.slice(0, 12),
      keyHash: await sha256Hex(key),
      createdBy: c.var.caller.kind === 'user' ? c.var.caller.userId : 'api',
      lastUsedAt: null,
      revokedAt: null,
      createdAt: Date.now(),
    };
    const db = c.var.db;
    await db.batch([db.insert(apiKeys).values(row), auditRow(c, 'api_key.created', 'api_key', row.id, { name, prefix: row.prefix })]);
    return ok(c, { ...publicKey(row), key }, 201);
  })
  .delete('/:id', async (c) => {
    const db = c.var.db;
    const id = c.req.param('id');
    const [revoked] = await db
      .update(apiKeys)
      .set({ revokedAt: Date.now() })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.organizationId, c.var.caller.organizationId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (!revoked) throw notFound('API key');
    forgetApiKey(id);
    await auditRow(c, 'api_key.revoked', 'api_key', id);
    return ok(c, { revoked: id });
  });
