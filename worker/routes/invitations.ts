// Invitations: admins invite by email and role (one pending invitation per email, send quotas below);
// the invitee accepts with the token from the link.
import { and, count, desc, eq, gt } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { InvitationAcceptBody, InvitationCreateBody } from '../contracts/auth';
import { emailOutbox, invitations, organizations, users } from '../db/schema';
import { jwtSecret, type AppEnv } from '../env';
import { hashPassword, newId, randomToken, sha256Hex } from '../lib/crypto';
import { ApiError, conflict, notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { signSession } from '../lib/jwt';
import { requireRole, requireUser, wrongSecret } from '../middleware/auth';
import { publicOrganization, publicUser } from '../services/accounts';
import { auditRow } from '../services/audit';
import { deliverEmail, invitationEmail, queueEmail, type SendQuota } from '../services/email';
import { memberLimitError } from '../services/plans';
import { setSessionCookie } from '../middleware/auth';

export const INVITATION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Invitation emails are counted when sent (email_outbox rows), not as pending invitations, so revoking
 * and inviting again does not reset them: an organization sends at most 20 an hour, and one address
 * receives at most 3 a day from all organizations together.
 */
export const INVITATION_QUOTAS: SendQuota[] = [
  {
    per: 'organization',
    max: 20,
    windowMs: 60 * 60 * 1000,
    code: 'INVITATION_LIMIT',
    message: 'This organization has sent 20 invitations in the last hour; try again later',
  },
  {
    per: 'recipient',
    max: 3,
    windowMs: 24 * 60 * 60 * 1000,
    code: 'INVITATION_LIMIT',
    message: 'This address has received 3 invitations in the last day; try again tomorrow',
  },
];

const publicInvitation = (i: typeof invitations.$inferSelect, now = Date.now()) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  invitedBy: i.invitedBy,
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
  acceptedAt: i.acceptedAt,
  status: i.status === 'pending' && i.expiresAt <= now ? 'expired' : i.status,
});

/** The pending, unexpired invitation a token belongs to; a used, revoked or expired one is refused with why. */
async function usableInvitation(c: Context<AppEnv>, token: string) {
  const [invite] = await c.var.db
    .select()
    .from(invitations)
    .where(eq(invitations.tokenHash, await sha256Hex(token)))
    .limit(1);
  if (!invite) throw await wrongSecret(c, notFound('Invitation'));
  if (invite.status === 'accepted') throw new ApiError(410, 'INVITATION_USED', 'This invitation has already been accepted');
  if (invite.status === 'revoked') throw new ApiError(410, 'INVITATION_REVOKED', 'This invitation was revoked by an admin');
  if (invite.expiresAt <= Date.now()) throw new ApiError(410, 'INVITATION_EXPIRED', 'This invitation has expired; ask an admin for a new one');
  return invite;
}

export const invitationRoutes = new Hono<AppEnv>()
  // Public: what the accept page shows before the form (or why the link no longer works).
  .get('/lookup', async (c) => {
    const token = c.req.query('token') ?? '';
    if (!token || token.length > 200) throw notFound('Invitation');
    const invite = await usableInvitation(c, token);
    const [org] = await c.var.db.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, invite.organizationId)).limit(1);
    return ok(c, { email: invite.email, role: invite.role, organizationName: org?.name ?? '', expiresAt: invite.expiresAt });
  })
  // Public: the invitee has no account yet.
  .post('/accept', async (c) => {
    const body = await readBody(c, InvitationAcceptBody);
    const db = c.var.db;
    const invite = await usableInvitation(c, body.token);
    const [taken] = await db.select({ id: users.id }).from(users).where(eq(users.email, invite.email)).limit(1);
    if (taken) throw conflict('EMAIL_TAKEN', 'An account with this email already exists');

    const now = Date.now();
    const user = {
      id: newId(),
      organizationId: invite.organizationId,
      email: invite.email,
      name: body.name,
      role: invite.role,
      passwordHash: await hashPassword(body.password),
      lastLoginAt: now,
      createdAt: now,
      updatedAt: now,
    };
    // Claim the invitation first, in one conditional statement: of parallel accepts (or an accept racing a
    // revoke) exactly one wins, and the others answer as a later accept would (410), before any account exists.
    const [claimed] = await db
      .update(invitations)
      .set({ status: 'accepted', acceptedAt: now })
      .where(and(eq(invitations.id, invite.id), eq(invitations.status, 'pending')))
      .returning({ id: invitations.id });
    if (!claimed) {
      await usableInvitation(c, body.token); // throws 410 with the reason
      throw new ApiError(410, 'INVITATION_USED', 'This invitation has already been accepted');
    }
    let org: Array<typeof organizations.$inferSelect>;
    try {
      [, org] = await db.batch([db.insert(users).values(user), db.select().from(organizations).where(eq(organizations.id, invite.organizationId)).limit(1)]);
    } catch (err) {
      // The email was taken meanwhile (a sign-up): the invitation goes back to pending.
      await db.update(invitations).set({ status: 'pending', acceptedAt: null }).where(eq(invitations.id, invite.id));
      if (String(err).includes('UNIQUE')) throw conflict('EMAIL_TAKEN', 'An account with this email already exists');
      throw err;
    }
    if (!org[0]) throw notFound('Organization');
    const token = await signSession(jwtSecret(c.env), { userId: user.id, organizationId: user.organizationId, role: user.role });
    setSessionCookie(c, token);
    return ok(c, { token, user: publicUser(user), organization: publicOrganization(org[0], user.role) }, 201);
  })
  .use(requireUser, requireRole('admin'))
  .get('/', async (c) => {
    const rows = await c.var.db
      .select()
      .from(invitations)
      .where(eq(invitations.organizationId, c.var.caller.organizationId))
      .orderBy(desc(invitations.createdAt))
      .limit(500);
    return ok(
      c,
      rows.map((r) => publicInvitation(r)),
    );
  })
  // The emails the org was sent (development outbox and delivery records), newest first.
  .get('/outbox', async (c) => {
    const rows = await c.var.db
      .select()
      .from(emailOutbox)
      .where(eq(emailOutbox.organizationId, c.var.caller.organizationId))
      .orderBy(desc(emailOutbox.createdAt))
      .limit(100);
    return ok(c, rows);
  })
  .post('/', async (c) => {
    const body = await readBody(c, InvitationCreateBody);
    const db = c.var.db;
    const orgId = c.var.caller.organizationId;
    const now = Date.now();
    const pendingNow = and(eq(invitations.status, 'pending'), gt(invitations.expiresAt, now));
    const [[member], [org], [members], [pending], [samePending]] = await db.batch([
      db.select({ id: users.id }).from(users).where(eq(users.email, body.email)).limit(1),
      db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1),
      db.select({ n: count() }).from(users).where(eq(users.organizationId, orgId)),
      // Pending invitations hold a seat: otherwise several could be accepted past the limit.
      db
        .select({ n: count() })
        .from(invitations)
        .where(and(eq(invitations.organizationId, orgId), pendingNow)),
      db
        .select({ id: invitations.id })
        .from(invitations)
        .where(and(eq(invitations.organizationId, orgId), eq(invitations.email, body.email), pendingNow))
        .limit(1),
    ]);
    if (member) throw conflict('EMAIL_TAKEN', 'A user with this email already exists');
    if (samePending) throw conflict('INVITATION_PENDING', 'This email already has a pending invitation; revoke it to send a new one');
    if (org && (members?.n ?? 0) + (pending?.n ?? 0) >= org.limits.maxMembers) {
      throw memberLimitError(org.plan, org.limits, members?.n ?? 0, pending?.n ?? 0);
    }
    const token = randomToken(40);
    const row = {
      id: newId(),
      organizationId: orgId,
      email: body.email,
      role: body.role,
      tokenHash: await sha256Hex(token),
      status: 'pending' as const,
      invitedBy: c.var.caller.kind === 'user' ? c.var.caller.userId : 'api',
      expiresAt: now + INVITATION_TTL_MS,
      acceptedAt: null,
      createdAt: now,
    };
    // The token is shown once, so an admin can share the link when no email provider is configured.
    const acceptUrl = `${c.env.PUBLIC_URL.replace(/\/$/, '')}/accept-invite?token=${token}`;
    const [inviter] = c.var.caller.kind === 'user' ? await db.select({ name: users.name }).from(users).where(eq(users.id, c.var.caller.userId)).limit(1) : [];
    // The email is queued (and the send quotas checked) before the invitation exists: a refused send leaves nothing.
    const email = await queueEmail(
      c.env,
      db,
      invitationEmail({
        organizationId: orgId,
        to: body.email,
        organizationName: org?.name ?? 'your team',
        inviterName: inviter?.name ?? 'An admin',
        role: body.role,
        acceptUrl,
        token,
        expiresAt: row.expiresAt,
      }),
      INVITATION_QUOTAS,
    );
    await db.batch([db.insert(invitations).values(row), auditRow(c, 'invitation.created', 'invitation', row.id, { email: body.email, role: body.role })]);
    const delivery = await deliverEmail(c.env, db, email);
    return ok(c, { ...publicInvitation(row), token, acceptUrl, delivery }, 201);
  })
  .delete('/:id', async (c) => {
    const db = c.var.db;
    const id = c.req.param('id');
    const [invite] = await db
      .select()
      .from(invitations)
      .where(and(eq(invitations.id, id), eq(invitations.organizationId, c.var.caller.organizationId)))
      .limit(1);
    if (!invite) throw notFound('Invitation');
    if (invite.status !== 'pending') throw conflict('INVITATION_NOT_PENDING', `This invitation is already ${invite.status}`);
    await db.batch([
      db.update(invitations).set({ status: 'revoked' }).where(eq(invitations.id, id)),
      auditRow(c, 'invitation.revoked', 'invitation', id, { email: invite.email }),
    ]);
    return ok(c, { revoked: id });
  });
