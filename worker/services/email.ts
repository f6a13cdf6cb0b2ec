// Sending the product's emails. One provider interface, two providers: SendGrid (its v3 HTTP API
// through fetch) when SENDGRID_API_KEY is set, else the development outbox — the email is stored
// in email_outbox (admins list it) and, in development, printed to the log. Every email gets an
// email_outbox row either way, so "was it sent?" has one answer.
import { emailOutbox } from '../db/schema';
import type { AppEnv, Env } from '../env';
import { newId } from '../lib/crypto';

type Db = AppEnv['Variables']['db'];

export type EmailMessage = { organizationId: string; to: string; subject: string; text: string; html?: string };
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
  constructor(private readonly apiKey: string, private readonly baseUrl = 'https://api.sendgrid.com') {}

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
      } catch { /* not JSON: keep the text */ }
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

/** Sends (or files) one email and records it. Never throws for a delivery failure: the result says. */
export async function sendEmail(env: Env, db: Db, message: EmailMessage): Promise<EmailResult> {
  const provider = emailProvider(env);
  const from = parseAddress(env.EMAIL_FROM || DEFAULT_FROM);
  const id = newId();
  let status: EmailResult['status'] = provider.name === 'outbox' ? 'outbox' : 'sent';
  let error: string | undefined;
  try {
    await provider.send(message, from);
  } catch (err) {
    status = 'failed';
    error = err instanceof Error ? (err.name === 'TimeoutError' ? `${provider.name} did not answer within ${SENDGRID_TIMEOUT_MS} ms` : err.message) : String(err);
    console.warn('email not delivered', provider.name, message.to, error);
  }
  const now = Date.now();
  await db.insert(emailOutbox).values({
    id, organizationId: message.organizationId, to: message.to, subject: message.subject, text: message.text, html: message.html ?? null,
    provider: provider.name, status, error: error ?? null, createdAt: now, sentAt: status === 'sent' ? now : null,
  });
  return { id, provider: provider.name, status, ...(error ? { error } : {}) };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The invitation email: who invites, to which organization, with which role, and the accept link. */
export function invitationEmail(p: { organizationId: string; to: string; organizationName: string; inviterName: string; role: string; acceptUrl: string; expiresAt: number }): EmailMessage {
  const expires = new Date(p.expiresAt).toUTCString();
  const subject = `${p.inviterName} invited you to ${p.organizationName} on Agnox`;
  const text = [
    `${p.inviterName} invited you to join ${p.organizationName} on Agnox as ${p.role}.`,
    '', `Accept the invitation: ${p.acceptUrl}`, '', `The link works once and expires on ${expires}.`,
    'If you did not expect this email, you can ignore it.',
  ].join('\n');
  const html = `<p>${escapeHtml(p.inviterName)} invited you to join <strong>${escapeHtml(p.organizationName)}</strong> on Agnox as ${escapeHtml(p.role)}.</p>`
    + `<p><a href="${escapeHtml(p.acceptUrl)}">Accept the invitation</a></p><p>The link works once and expires on ${escapeHtml(expires)}.</p>`;
  return { organizationId: p.organizationId, to: p.to, subject, text, html };
}
