// Sending the product's emails. One provider interface, two providers: SendGrid (its v3 HTTP API
// through fetch) when SENDGRID_API_KEY is set, else the development outbox — the email is stored
// in email_outbox (admins list it) and, in development, printed to the log. Every email gets an
// email_outbox row either way, so "was it sent?" has one answer, and the rows are what send quotas
// count. An email is queued first (its row, where quotas are checked), then delivered.
//
// A credential in an email (an invitation's token) is stored only by the development outbox, whose
// row is the email; a delivered (or failed) email's row keeps the text with the credential removed.
import { eq, sql } from 'drizzle-orm';
import { emailOutbox } from '../db/schema';
import type { Env } from '../env';
import { newId } from '../lib/crypto';
import { tooManyRequests } from '../lib/errors';
import type { Db } from '../bindings';

export type EmailMessage = {
  organizationId: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** A credential in the text and html (an accept token): not stored once the email leaves through a provider. */
  secret?: string;
};
/** At most `max` emails per `windowMs` from one organization, or to one recipient across organizations. */
export type SendQuota = { per: 'organization' | 'recipient'; max: number; windowMs: number; code: string; message: string };
export type QueuedEmail = { id: string; provider: EmailProvider; message: EmailMessage };
export type EmailResult = { id: string; provider: string; status: 'sent' | 'failed' | 'outbox'; error?: string };

export interface EmailProvider {
  readonly name: string;
  /** Delivers the message or throws with the provider's reason. */
  send(message: EmailMessage, from: { email: string; name?: string }): Promise<void>;
}

export const DEFAULT_FROM = 'Agnox <no-reply@agnox.dev>';
const SENDGRID_TIMEOUT_MS = 10_000;

/** "Name <email>" or a bare address. */
export function parseAddress(value: string): { email: string; name?: string } {
  const m = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(value);
  return m ? { email: m[2]!.trim(), ...(m[1] ? { name: m[1].replace(/^"|"$/g, '') } : {}) } : { email: value.trim() };
}

export class SendGridProvider implements EmailProvider {
  readonly name = 'sendgrid';
  constructor(
    private readonly apiKey: string,
    private readonly baseUrl = 'https://api.sendgrid.com',
  ) {}

  async send(message: EmailMessage, from: { email: string; name?: string }): Promise<void> {
    const content = [{ type: 'text/plain', value: message.text }, ...(message.html ? [{ type: 'text/html', value: message.html }] : [])];
    const res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}/v3/mail/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ personalizations: [{ to: [{ email: message.to }] }], from, subject: message.subject, content }),
      signal: AbortSignal.timeout(SENDGRID_TIMEOUT_MS),
    });
    if (res.status !== 202 && res.status !== 200) {
      // SendGrid explains failures as {errors:[{message, field}]}.
      const body = await res.text().catch(() => '');
      let detail = body.slice(0, 300);
      try {
        const parsed = JSON.parse(body) as { errors?: Array<{ message?: string; field?: string | null }> };
        if (parsed.errors?.length) detail = parsed.errors.map((e) => [e.field, e.message].filter(Boolean).join(': ')).join('; ');
      } catch {
        /* not JSON: keep the text */
      }
      throw new Error(`SendGrid answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
    }
  }
}

/** The development outbox: nothing leaves the machine; the row in email_outbox is the email. */
export class OutboxProvider implements EmailProvider {
  readonly name = 'outbox';
  constructor(private readonly logToConsole: boolean) {}
  async send(message: EmailMessage): Promise<void> {
    // The text carries the accept link (a credential), so it is printed in development only.
    if (this.logToConsole) console.log(`[email outbox] to ${message.to}: ${message.subject}\n${message.text}`);
  }
}

export function emailProvider(env: Pick<Env, 'SENDGRID_API_KEY' | 'SENDGRID_BASE_URL' | 'ENVIRONMENT'>): EmailProvider {
  const key = env.SENDGRID_API_KEY?.trim();
  if (key) return new SendGridProvider(key, env.SENDGRID_BASE_URL?.trim() || undefined);
  return new OutboxProvider(env.ENVIRONMENT === 'development');
}

export const REMOVED_SECRET = '[removed once sent]';
const withoutSecret = (text: string, secret?: string) => (secret ? text.replaceAll(secret, REMOVED_SECRET) : text);

const quotaScope = (q: SendQuota, m: EmailMessage) => (q.per === 'organization' ? sql`organization_id = ${m.organizationId}` : sql`"to" = ${m.to}`);

/**
 * Records the email as queued, if every quota has room, in one statement (parallel sends cannot all
 * read the same count); otherwise throws 429 with the quota's code and when a slot frees up.
 */
export async function queueEmail(env: Env, db: Db, message: EmailMessage, quotas: SendQuota[] = []): Promise<QueuedEmail> {
  const provider = emailProvider(env);
  const id = newId();
  const now = Date.now();
  const keep = provider.name === 'outbox' ? undefined : message.secret;
  const room = quotas.map((q) => sql`(SELECT count(*) FROM email_outbox WHERE ${quotaScope(q, message)} AND created_at > ${now - q.windowMs}) < ${q.max}`);
  const queued = await db.run(sql`INSERT INTO email_outbox (id, organization_id, "to", subject, text, html, provider, status, created_at)
    SELECT ${id}, ${message.organizationId}, ${message.to}, ${message.subject}, ${withoutSecret(message.text, keep)},
      ${message.html === undefined ? null : withoutSecret(message.html, keep)}, ${provider.name}, 'queued', ${now}
    WHERE ${room.length ? sql.join(room, sql` AND `) : sql`1`}`);
  if (!queued.meta.changes) {
    for (const q of quotas) {
      const [used] = await db.all<{ n: number; oldest: number | null }>(
        sql`SELECT count(*) AS n, min(created_at) AS oldest FROM email_outbox WHERE ${quotaScope(q, message)} AND created_at > ${now - q.windowMs}`,
      );
      if ((used?.n ?? 0) >= q.max) throw tooManyRequests(((used?.oldest ?? now) + q.windowMs - now) / 1000, q.code, q.message);
    }
    throw tooManyRequests(60, quotas[0]?.code ?? 'RATE_LIMITED', quotas[0]?.message ?? 'Too many emails');
  }
  return { id, provider, message };
}

/** Delivers a queued email and records the outcome. Never throws for a delivery failure: the result says. */
export async function deliverEmail(env: Env, db: Db, { id, provider, message }: QueuedEmail): Promise<EmailResult> {
  const from = parseAddress(env.EMAIL_FROM || DEFAULT_FROM);
  let status: EmailResult['status'] = provider.name === 'outbox' ? 'outbox' : 'sent';
  let error: string | undefined;
  try {
    await provider.send(message, from);
  } catch (err) {
    status = 'failed';
    error =
      err instanceof Error ? (err.name === 'TimeoutError' ? `${provider.name} did not answer within ${SENDGRID_TIMEOUT_MS} ms` : err.message) : String(err);
    console.warn('email not delivered', provider.name, message.to, error);
  }
  const now = Date.now();
  await db
    .update(emailOutbox)
    .set({ status, error: error ?? null, sentAt: status === 'sent' ? now : null })
    .where(eq(emailOutbox.id, id));
  return { id, provider: provider.name, status, ...(error ? { error } : {}) };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Invitation emails have a fixed subject: the organization's and inviter's names are chosen by whoever signs up. */
export const INVITATION_SUBJECT = 'You have been invited to a team on Agnox';

/** The invitation email: who invites, to which organization, with which role, and the accept link (whose token is `secret`). */
export function invitationEmail(p: {
  organizationId: string;
  to: string;
  organizationName: string;
  inviterName: string;
  role: string;
  acceptUrl: string;
  token: string;
  expiresAt: number;
}): EmailMessage {
  const expires = new Date(p.expiresAt).toUTCString();
  const text = [
    `${p.inviterName} invited you to join ${p.organizationName} on Agnox as ${p.role}.`,
    '',
    `Accept the invitation: ${p.acceptUrl}`,
    '',
    `The link works once and expires on ${expires}.`,
    'If you did not expect this email, you can ignore it.',
  ].join('\n');
  const html =
    `<p>${escapeHtml(p.inviterName)} invited you to join <strong>${escapeHtml(p.organizationName)}</strong> on Agnox as ${escapeHtml(p.role)}.</p>` +
    `<p><a href="${escapeHtml(p.acceptUrl)}">Accept the invitation</a></p><p>The link works once and expires on ${escapeHtml(expires)}.</p>`;
  return { organizationId: p.organizationId, to: p.to, subject: INVITATION_SUBJECT, text, html, secret: p.token };
}
