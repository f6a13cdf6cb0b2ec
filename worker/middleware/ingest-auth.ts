// API-key auth for the ingest API: its own rate tier (INGEST_LIMITER, per key), above the org limit
// that other API-key calls share, since one CI run sends an event batch every second or so. Keys are
// looked up through the per-isolate credential cache (services/credentials.ts), so the event stream
// reads no D1, and a revoked key stops working within CREDENTIAL_CACHE_MS.
import { createMiddleware } from 'hono/factory';
import type { CallerEnv } from '../env';
import { tooManyRequests, unauthorized } from '../lib/errors';
import { findApiKey } from '../services/credentials';
import { wrongSecret } from './auth';

export const requireIngestKey = createMiddleware<CallerEnv>(async (c, next) => {
  const key = c.req.header('x-api-key');
  if (!key) throw unauthorized('x-api-key header required');
  const row = await findApiKey(c.var.db, key);
  if (!row) throw await wrongSecret(c, unauthorized('Invalid or revoked API key'));
  const { success } = await c.env.INGEST_LIMITER.limit({ key: `ingest:${row.id}` });
  if (!success) throw tooManyRequests(60, 'RATE_LIMITED', 'Ingest rate limit exceeded for this API key (500 requests per minute)');
  c.set('caller', { kind: 'apiKey', apiKeyId: row.id, organizationId: row.organizationId, role: 'developer' });
  await next();
});
