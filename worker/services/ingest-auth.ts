// API-key auth for the ingest API: a separate rate tier (INGEST_LIMITER, per key), and a
// per-isolate cache of key lookups so the event stream does not read D1 on every request.
// A cached key lives KEY_CACHE_MS, so a revoked key stops working within that time (< 1 min).
import { createMiddleware } from 'hono/factory';
import type { CallerEnv } from '../env';
import { sha256Hex } from '../lib/crypto';
import { tooManyRequests, unauthorized } from '../lib/errors';
import { findApiKey, wrongSecret } from '../middleware/auth';
import type { Db } from '../bindings';

export const KEY_CACHE_MS = 30_000;
const MAX_CACHED_KEYS = 5_000;

type Entry = { key: { id: string; organizationId: string } | undefined; until: number };
const cache = new Map<string, Entry>();

/** Test hook: forget cached keys (each test file's isolate has its own cache anyway). */
export const clearIngestKeyCache = () => cache.clear();

async function lookup(db: Db, key: string, now: number) {
  const hash = await sha256Hex(key);
  const hit = cache.get(hash);
  if (hit && hit.until > now) return hit.key;
  const row = await findApiKey(db, key);
  if (cache.size >= MAX_CACHED_KEYS) cache.clear();
  // Unknown keys are cached too (briefly), so a stream of bad requests costs no D1 reads either.
  cache.set(hash, { key: row, until: now + KEY_CACHE_MS });
  return row;
}

export const requireIngestKey = createMiddleware<CallerEnv>(async (c, next) => {
  const key = c.req.header('x-api-key');
  if (!key) throw unauthorized('x-api-key header required');
  const row = key.length > 200 ? undefined : await lookup(c.var.db, key, Date.now());
  if (!row) throw await wrongSecret(c, unauthorized('Invalid or revoked API key'));
  const { success } = await c.env.INGEST_LIMITER.limit({ key: `ingest:${row.id}` });
  if (!success) throw tooManyRequests(60, 'RATE_LIMITED', 'Ingest rate limit exceeded for this API key (500 requests per minute)');
  c.set('caller', { kind: 'apiKey', apiKeyId: row.id, organizationId: row.organizationId, role: 'developer' });
  await next();
});
