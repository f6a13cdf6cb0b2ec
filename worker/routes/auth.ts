// Sign up (per-IP rate limit), log in (per-IP rate limit and the login lock, services/login-lock.ts), log out (revocation, and its live sockets close), who am I.
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { deleteCookie } from 'hono/cookie';
import { LoginBody, SignupBody } from '../contracts/auth';
import { organizations, revokedTokens, users } from '../db/schema';
import { jwtSecret, type AppEnv } from '../env';
import { hashPassword, newId, verifyPassword } from '../lib/crypto';
import { isUniqueViolation } from '../lib/db-errors';
import { ApiError, conflict, tooManyRequests, unauthorized } from '../lib/errors';
import { clientIp, ok, readBody } from '../lib/http';
import { signSession } from '../lib/jwt';
import { requireUser, SESSION_COOKIE, setSessionCookie } from '../middleware/auth';
import { FREE_PLAN_LIMITS, publicOrganization, publicUser, slugify } from '../services/accounts';
import { closeLiveSockets } from '../services/live-sockets';
import { countLoginAttempt } from '../services/login-lock';

// A fixed hash to verify against when the email is unknown, so both paths cost the same.
const DUMMY_HASH = 'pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export const authRoutes = new Hono<AppEnv>()
  .post('/signup', async (c) => {
    const { success } = await c.env.SIGNUP_IP_LIMITER.limit({ key: `signup:${clientIp(c)}` });
    if (!success) throw tooManyRequests(60, 'RATE_LIMITED', 'Too many sign-ups from this address; try again in a minute');
    const body = await readBody(c, SignupBody);
    const db = c.var.db;
    const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, body.email)).limit(1);
    if (existing) throw conflict('EMAIL_TAKEN', 'An account with this email already exists');
    const now = Date.now();
    const org = {
      id: newId(),
      name: body.organizationName,
      slug: `${slugify(body.organizationName)}-${newId().slice(0, 6)}`,
      plan: 'free',
      limits: FREE_PLAN_LIMITS,
      aiAnalysisEnabled: true,
      slackWebhookUrl: null,
      stripeCustomerId: null,
      stripeSubscriptionId: null,
      lastAnalysisAt: null,
      createdAt: now,
      updatedAt: now,
    };
    const user = {
      id: newId(),
      organizationId: org.id,
      email: body.email,
      name: body.name,
      role: 'admin' as const,
      passwordHash: await hashPassword(body.password),
      lastLoginAt: now,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await db.batch([db.insert(organizations).values(org), db.insert(users).values(user)]);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('EMAIL_TAKEN', 'An account with this email already exists');
      throw err;
    }
    const token = await signSession(jwtSecret(c.env), { userId: user.id, organizationId: org.id, role: 'admin' });
    setSessionCookie(c, token);
    return ok(c, { token, user: publicUser(user), organization: publicOrganization(org, user.role) }, 201);
  })

  .post('/login', async (c) => {
    const { success } = await c.env.LOGIN_IP_LIMITER.limit({ key: `login:${clientIp(c)}` });
    if (!success) throw tooManyRequests(60, 'RATE_LIMITED', 'Too many login attempts from this address; try again in a minute');
    const body = await readBody(c, LoginBody);
    const db = c.var.db;
    const now = Date.now();

    const attempt = await countLoginAttempt(db, body.email, clientIp(c), now);

    const [user] = await db.select().from(users).where(eq(users.email, body.email)).limit(1);
    const valid = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !valid) {
      await attempt.failed();
      throw unauthorized('Invalid email or password');
    }

    const [org] = await db.batch([
      db.select().from(organizations).where(eq(organizations.id, user.organizationId)).limit(1),
      db.update(users).set({ lastLoginAt: now }).where(eq(users.id, user.id)),
      ...attempt.succeeded(),
    ]);
    if (!org[0]) throw new ApiError(500, 'INTERNAL', 'Organization missing');
    const token = await signSession(jwtSecret(c.env), { userId: user.id, organizationId: user.organizationId, role: user.role });
    setSessionCookie(c, token);
    return ok(c, { token, user: publicUser({ ...user, lastLoginAt: now }), organization: publicOrganization(org[0], user.role) });
  })

  .post('/logout', requireUser, async (c) => {
    const caller = c.var.caller;
    if (caller.kind !== 'user') throw unauthorized();
    await c.var.db
      .insert(revokedTokens)
      .values({ jti: caller.jti, expiresAt: caller.exp * 1000 })
      .onConflictDoNothing();
    await closeLiveSockets(c.env, caller.organizationId, { sessionId: caller.jti }, 'logged out');
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
    return ok(c, { loggedOut: true });
  })

  .get('/me', requireUser, async (c) => {
    const caller = c.var.caller;
    if (caller.kind !== 'user') throw unauthorized();
    const db = c.var.db;
    const [u, o] = await db.batch([
      db.select().from(users).where(eq(users.id, caller.userId)).limit(1),
      db.select().from(organizations).where(eq(organizations.id, caller.organizationId)).limit(1),
    ]);
    return ok(c, { user: publicUser(u[0]!), organization: publicOrganization(o[0]!, u[0]!.role) });
  });
