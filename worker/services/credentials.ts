// API keys and agent tokens, looked up by their SHA-256 and cached per isolate for CREDENTIAL_CACHE_MS:
// CI and agents call every few seconds, and a D1 read per call for a row that almost never changes is
// the most common statement there was. Revoking a key, or disabling or removing an agent, applies at
// once in the isolate that did it and within CREDENTIAL_CACHE_MS everywhere else.
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../bindings';
import { agents, apiKeys } from '../db/schema';
import { sha256Hex } from '../lib/crypto';
import { TtlCache } from '../lib/ttl-cache';

/** How long a revoked key or a disabled agent may still be let in by another isolate: well under a minute. */
export const CREDENTIAL_CACHE_MS = 30_000;
/** Bounds each cache's memory: a few hundred bytes an entry. */
const MAX_CACHED = 5_000;
/** Longer than any secret we issue: not worth hashing or caching. */
const MAX_SECRET_LENGTH = 200;

export type ApiKeyRef = { id: string; organizationId: string };
export type AgentRow = typeof agents.$inferSelect;

const keys = new TtlCache<ApiKeyRef | undefined>(CREDENTIAL_CACHE_MS, MAX_CACHED);
const agentTokens = new TtlCache<AgentRow | undefined>(CREDENTIAL_CACHE_MS, MAX_CACHED);

/** The unrevoked API key `key` stands for, or undefined. */
export async function findApiKey(db: Db, key: string): Promise<ApiKeyRef | undefined> {
  if (key.length > MAX_SECRET_LENGTH) return undefined;
  const hash = await sha256Hex(key);
  return keys.get(hash, async () => {
    const [row] = await db
      .select({ id: apiKeys.id, organizationId: apiKeys.organizationId })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
      .limit(1);
    return row;
  });
}

/**
 * The agent `token` belongs to, or undefined. The row is shared by the requests of this isolate for
 * CREDENTIAL_CACHE_MS; what the agent reports about itself (lastSeenAt, runningJobs, healthProblem)
 * is written onto it as it is written to D1 (see noteAgentSeen).
 */
export async function findAgent(db: Db, token: string): Promise<AgentRow | undefined> {
  if (token.length > MAX_SECRET_LENGTH) return undefined;
  const hash = await sha256Hex(token);
  return agentTokens.get(hash, async () => {
    const [row] = await db.select().from(agents).where(eq(agents.tokenHash, hash)).limit(1);
    return row;
  });
}

export const forgetApiKey = (id: string) => keys.forget((k) => k?.id === id);
export const forgetAgent = (id: string) => agentTokens.forget((a) => a?.id === id);

/** Test hook: each test file's isolate has its own caches anyway. */
export function clearCredentialCaches() {
  keys.clear();
  agentTokens.clear();
}
