// Who is calling: a session JWT (Authorization: Bearer) or an API key (x-api-key). Both resolve to an
// organization; every query after this point is scoped by c.var.caller.organizationId.
import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getCookie, setCookie } from 'hono/cookie';
import { revokedTokens, users, type Role } from '../db/schema';
import { findAgent, findApiKey } from '../services/credentials';
import { jwtSecret, type AgentEnv, type AppEnv, type Caller, type CallerEnv } from '../env';
import { type ApiError, forbidden, tooManyRequests, unauthorized } from '../lib/errors';
import { clientIp } from '../lib/http';
import { TOKEN_TTL_SECONDS, verifySession, type SessionClaims } from '../lib/jwt';

export const SESSION_COOKIE = 'agnox_session';

const bearer = (header: string | undefined) => (header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined);

/** The dashboard keeps its session in an HttpOnly cookie, out of reach of page scripts. */
export function setSessionCookie(c: Context, token: string) {
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, secure: true, sameSite: 'Strict', path: '/', maxAge: TOKEN_TTL_SECONDS });
}

/** The session token: `Authorization: Bearer` (API clients) or the HttpOnly cookie (the dashboard). */
export const sessionToken = (c: Context) => bearer(c.req.header('authorization')) ?? getCookie(c, SESSION_COOKIE);

/** The session comes from the cookie, which a browser attaches whichever page sends the request. */
export const sessionFromCookie = (c: Context) => !bearer(c.req.header('authorization')) && Boolean(getCookie(c, SESSION_COOKIE));

/** The signed claims of the request's session token, or 401. Nothing is looked up yet: see userCaller. */
export async function sessionClaims<E extends AppEnv>(c: Context<E>): Promise<SessionClaims> {
  const token = sessionToken(c);
  if (!token) throw unauthorized();
  const claims = await verifySession(jwtSecret(c.env), token);
  if (!claims) throw unauthorized('Invalid or expired token');
  return claims;
}

/** The caller the claims stand for: the session is unrevoked, the user still exists (the role comes from the row, so a role change applies at once), and the org's rate limit allows the request. */
export async function userCaller<E extends AppEnv>(c: Context<E>, claims: SessionClaims): Promise<Caller> {
  const db = c.var.db;
  // The org's rate limit is asked alongside the lookup (one round trip less on every request): the
  // org comes from the signed token, and a 401 still wins over a 429.
  const [[revoked, user], limited] = await Promise.all([
    db.batch([
      db.select({ jti: revokedTokens.jti }).from(revokedTokens).where(eq(revokedTokens.jti, claims.jti)).limit(1),
      db.select({ role: users.role, organizationId: users.organizationId }).from(users).where(eq(users.id, claims.userId)).limit(1),
    ]),
    limitOrg(c.env.ORG_API_LIMITER, claims.organizationId).then(
      () => null,
      (err: unknown) => err,
    ),
  ]);
  if (revoked.length) throw unauthorized('Token has been revoked');
  const row = user[0];
  if (!row || row.organizationId !== claims.organizationId) throw unauthorized('User no longer exists');
  if (limited) throw limited;
  return { kind: 'user', userId: claims.userId, organizationId: row.organizationId, role: row.role, jti: claims.jti, exp: claims.exp };
}

/** A valid, unrevoked session of a user who still exists. */
export const requireUser = createMiddleware<CallerEnv>(async (c, next) => {
  c.set('caller', await userCaller(c, await sessionClaims(c)));
  await next();
});

/** An unrevoked API key; it acts for its organization with developer rights (runs, ingest). */
export const requireApiKey = createMiddleware<CallerEnv>(async (c, next) => {
  const key = c.req.header('x-api-key');
  if (!key) throw unauthorized('x-api-key header required');
  const row = await findApiKey(c.var.db, key);
  if (!row) throw await wrongSecret(c, unauthorized('Invalid or revoked API key'));
  c.set('caller', { kind: 'apiKey', apiKeyId: row.id, organizationId: row.organizationId, role: 'developer' });
  await limitOrg(c.env.ORG_API_LIMITER, row.organizationId);
  await next();
});

/**
 * The error for a wrong secret (API key, agent, registration or invitation token). Wrong secrets are
 * counted per client address, and past AUTH_FAILURE_LIMITER's budget the answer is 429, so guessing
 * from one address stalls. Right secrets are not counted: others behind the same address keep working.
 */
export async function wrongSecret<E extends AppEnv>(c: Context<E>, error: ApiError): Promise<ApiError> {
  const { success } = await c.env.AUTH_FAILURE_LIMITER.limit({ key: `secret:${clientIp(c)}` });
  return success ? error : tooManyRequests(60, 'RATE_LIMITED', 'Too many invalid credentials from this address; try again in a minute');
}

async function limitOrg(limiter: RateLimit, organizationId: string) {
  const { success } = await limiter.limit({ key: `org:${organizationId}` });
  if (!success) throw tooManyRequests(60, 'RATE_LIMITED', 'Organization API rate limit exceeded');
}

/** Either a member's session or an API key: read routes that CI tools (the `agnox` CLI) also call. */
export const requireUserOrApiKey = createMiddleware<CallerEnv>((c, next) => (c.req.header('x-api-key') ? requireApiKey : requireUser)(c, next));

/** A registered, enabled agent: `Authorization: Bearer <agentToken>`. */
export const requireAgent = createMiddleware<AgentEnv>(async (c, next) => {
  const token = bearer(c.req.header('authorization'));
  if (!token) throw unauthorized('Agent token required');
  const agent = await findAgent(c.var.db, token);
  if (!agent) throw await wrongSecret(c, unauthorized('Unknown agent token; register the agent again'));
  if (agent.disabled) throw forbidden('This agent was disabled by an admin');
  c.set('agent', agent);
  await next();
});

const RANK: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** 403 unless the caller's role is at least `min`. */
export function assertRole(caller: Caller, min: Role) {
  if (RANK[caller.role] < RANK[min]) throw forbidden(`This action requires the ${min} role`);
}

/** Allows the caller when its role is at least `min`. Runs after requireUser / requireApiKey. */
export const requireRole = (min: Role) =>
  createMiddleware<CallerEnv>(async (c, next) => {
    assertRole(c.var.caller, min);
    await next();
  });
