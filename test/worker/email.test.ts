// Invitation emails: the development outbox (no SendGrid key) holds an email whose accept link works;
// with a key the real SendGrid wire format reaches a local fake; delivery failures are recorded, not
// fatal; expired and revoked invitations are refused with a clear message.
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SENDGRID_KEY, fakeSendGrid } from '../support/fake-sendgrid';
import { INVITATION_SUBJECT, REMOVED_SECRET } from '../../worker/services/email';
import { api, PASSWORD, signup, type Org } from './helpers';

const sendgrid = fakeSendGrid(env.SENDGRID_BASE_URL!);

async function invite(admin: Org, email = `new-${crypto.randomUUID()}@example.com`, role = 'developer') {
  const res = await api('POST', '/api/invitations', { token: admin.token, body: { email, role } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data;
}

/** The accept link as the invitee reads it in the email's text. */
const linkIn = (text: string) => {
  const m = /(https?:\/\/\S+\/accept-invite\?token=\S+)/.exec(text);
  expect(m, text).not.toBeNull();
  return new URL(m![1]!);
};

describe('invitation email (development outbox)', () => {
  it('files the email in the outbox with an accept link that works once', async () => {
    const admin = await signup('Acme QA');
    const inv = await invite(admin);
    expect(inv.delivery).toMatchObject({ provider: 'outbox', status: 'outbox' });
    const created = await api('GET', '/api/invitations/outbox', { token: admin.token });
    expect(created.status).toBe(200);
    const mail = created.json.data.find((m: any) => m.to === inv.email);
    expect(mail).toMatchObject({ provider: 'outbox', status: 'outbox', subject: INVITATION_SUBJECT });
    expect(mail.text).toContain('as developer');
    expect(mail.html).toContain('<a href="http://localhost:8787/accept-invite?token=');

    const link = linkIn(mail.text);
    expect(link.origin).toBe(env.PUBLIC_URL);
    const token = link.searchParams.get('token')!;
    const lookup = await api('GET', `/api/invitations/lookup?token=${token}`);
    expect(lookup.json.data).toMatchObject({ email: inv.email, role: 'developer', organizationName: 'Acme QA' });

    const accepted = await api('POST', '/api/invitations/accept', { body: { token, name: 'New Dev', password: PASSWORD } });
    expect(accepted.status, JSON.stringify(accepted.json)).toBe(201);
    expect(accepted.json.data.user).toMatchObject({ email: inv.email, role: 'developer', organizationId: admin.organizationId });
    const again = await api('POST', '/api/invitations/accept', { body: { token, name: 'New Dev', password: PASSWORD } });
    expect(again.status).toBe(410);
    expect(again.json.code).toBe('INVITATION_USED');
  });

  it("refuses a revoked and an expired invitation's link with a clear message", async () => {
    const admin = await signup();
    const revoked = await invite(admin);
    expect((await api('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token })).status).toBe(200);
    const r = await api('GET', `/api/invitations/lookup?token=${revoked.token}`);
    expect(r.status).toBe(410);
    expect(r.json).toMatchObject({ code: 'INVITATION_REVOKED', error: 'This invitation was revoked by an admin' });

    const expired = await invite(admin);
    await env.DB.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, expired.id)
      .run();
    const e = await api('POST', '/api/invitations/accept', { body: { token: expired.token, name: 'Late', password: PASSWORD } });
    expect(e.status).toBe(410);
    expect(e.json.error).toBe('This invitation has expired; ask an admin for a new one');
    expect((await api('GET', '/api/invitations/lookup?token=unknown-token')).status).toBe(404);
  });

  it('shows the outbox to admins of the org only', async () => {
    const admin = await signup();
    const other = await signup();
    await invite(admin);
    expect((await api('GET', '/api/invitations/outbox', { token: other.token })).json.data).toEqual([]);
    const member = await api('POST', '/api/invitations', { token: admin.token, body: { email: `v-${crypto.randomUUID()}@example.com`, role: 'viewer' } });
    const viewer = await api('POST', '/api/invitations/accept', { body: { token: member.json.data.token, name: 'V', password: PASSWORD } });
    expect((await api('GET', '/api/invitations/outbox', { token: viewer.json.data.token })).status).toBe(403);
  });
});

describe('invitation email through SendGrid (local fake of its API)', () => {
  beforeAll(() => {
    env.SENDGRID_API_KEY = FAKE_SENDGRID_KEY;
  });
  afterAll(() => {
    delete env.SENDGRID_API_KEY;
  });

  it('sends the v3 mail/send request SendGrid expects and records it as sent', async () => {
    const admin = await signup('Globex');
    const inv = await invite(admin);
    expect(inv.delivery).toMatchObject({ provider: 'sendgrid', status: 'sent' });
    const [sent] = await sendgrid.requests(inv.email);
    expect(sent!.authorization).toBe(`Bearer ${FAKE_SENDGRID_KEY}`);
    expect(sent!.body).toMatchObject({
      personalizations: [{ to: [{ email: inv.email }] }],
      from: { email: 'no-reply@agnox.dev', name: 'Agnox' },
      subject: INVITATION_SUBJECT,
    });
    const text = sent!.body.content.find((c: any) => c.type === 'text/plain').value;
    const token = linkIn(text).searchParams.get('token')!;
    expect((await api('POST', '/api/invitations/accept', { body: { token, name: 'Via Mail', password: PASSWORD } })).status).toBe(201);
    const outbox = (await api('GET', '/api/invitations/outbox', { token: admin.token })).json.data;
    expect(outbox[0]).toMatchObject({ provider: 'sendgrid', status: 'sent', to: inv.email });
    expect(outbox[0].sentAt).toBeGreaterThan(0);
  });

  it('keeps no accept token in the outbox row once the email is sent, or given up', async () => {
    const admin = await signup();
    const bounced = `bounce-${crypto.randomUUID()}@example.com`;
    await sendgrid.fail(bounced, 500);
    for (const inv of [await invite(admin), await invite(admin, bounced)]) {
      const [sent] = await sendgrid.requests(inv.email);
      expect(JSON.stringify(sent!.body)).toContain(inv.token); // the email itself carries the link
      const row = await env.DB.prepare('SELECT * FROM email_outbox WHERE id = ?').bind(inv.delivery.id).first<Record<string, string>>();
      expect(row!.status).toBe(inv.email === bounced ? 'failed' : 'sent');
      expect(JSON.stringify(row)).not.toContain(inv.token);
      expect(row!.text).toContain(`/accept-invite?token=${REMOVED_SECRET}`);
      const listed = (await api('GET', '/api/invitations/outbox', { token: admin.token })).json.data.find((m: any) => m.id === inv.delivery.id);
      expect(JSON.stringify(listed)).not.toContain(inv.token);
    }
  });

  it('uses a fixed subject: the organization name (chosen by whoever signs up) is only in the body, escaped', async () => {
    const admin = await signup('Cheap <b>pills</b> at spam.example');
    const inv = await invite(admin);
    const [sent] = await sendgrid.requests(inv.email);
    expect(sent!.body.subject).toBe(INVITATION_SUBJECT);
    expect(sent!.body.subject).not.toContain('spam.example');
    const html = sent!.body.content.find((c: any) => c.type === 'text/html').value as string;
    expect(html).toContain('Cheap &lt;b&gt;pills&lt;/b&gt; at spam.example');
    expect(html).not.toContain('<b>pills');
  });

  it("keeps the invitation when SendGrid refuses, and records SendGrid's reason", async () => {
    const admin = await signup();
    const email = `bounce-${crypto.randomUUID()}@example.com`;
    await sendgrid.fail(email, 500);
    const inv = await invite(admin, email);
    expect(inv.delivery).toMatchObject({ provider: 'sendgrid', status: 'failed' });
    expect(inv.delivery.error).toContain('SendGrid answered HTTP 500: internal error');
    expect(inv.acceptUrl).toContain('/accept-invite?token=');
    const listed = (await api('GET', '/api/invitations', { token: admin.token })).json.data;
    expect(listed.find((i: any) => i.email === email)?.status).toBe('pending');
  });
});

describe('invitation spam limits', () => {
  const revoke = async (admin: Org, id: string) => expect((await api('DELETE', `/api/invitations/${id}`, { token: admin.token })).status).toBe(200);

  it('allows one pending invitation per email per organization (409 INVITATION_PENDING), and a new one once revoked', async () => {
    const admin = await signup();
    const first = await invite(admin);
    const again = await api('POST', '/api/invitations', { token: admin.token, body: { email: first.email, role: 'viewer' } });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ success: false, code: 'INVITATION_PENDING' });
    await revoke(admin, first.id);
    await invite(admin, first.email);
  });

  it('sends one address at most 3 invitations a day across organizations, however often they are revoked', async () => {
    const email = `target-${crypto.randomUUID()}@example.com`;
    const a = await signup();
    for (let i = 0; i < 3; i++) await revoke(a, (await invite(a, email)).id);
    const refused = await api('POST', '/api/invitations', { token: a.token, body: { email, role: 'developer' } });
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ success: false, code: 'INVITATION_LIMIT' });
    expect(refused.json.error).toContain('3 invitations in the last day');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    // Another organization cannot send it either, and the refused invitations left nothing behind.
    const b = await signup();
    expect((await api('POST', '/api/invitations', { token: b.token, body: { email, role: 'developer' } })).json.code).toBe('INVITATION_LIMIT');
    const listed = (await api('GET', '/api/invitations', { token: a.token })).json.data;
    expect(listed.map((i: any) => i.status)).toEqual(['revoked', 'revoked', 'revoked']);
    const sent = await env.DB.prepare('SELECT count(*) AS n FROM email_outbox WHERE "to" = ?').bind(email).first<{ n: number }>();
    expect(sent!.n).toBe(3);
  });

  it('sends at most 20 invitations an hour from one organization, however often they are revoked', async () => {
    const admin = await signup();
    for (let i = 0; i < 20; i++) await revoke(admin, (await invite(admin)).id);
    const refused = await api('POST', '/api/invitations', {
      token: admin.token,
      body: { email: `one-more-${crypto.randomUUID()}@example.com`, role: 'viewer' },
    });
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ code: 'INVITATION_LIMIT', error: 'This organization has sent 20 invitations in the last hour; try again later' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(59 * 60);
    // Parallel sends cannot all read the same count: the quota is checked in the statement that records the send.
    const other = await signup();
    await env.DB.prepare('UPDATE organizations SET limits = ? WHERE id = ?')
      .bind(JSON.stringify({ maxMembers: 100, maxConcurrentRuns: 5, runsPerMonth: 2000, retentionDays: 30 }), other.organizationId)
      .run();
    const burst = await Promise.all(
      Array.from({ length: 25 }, () =>
        api('POST', '/api/invitations', { token: other.token, body: { email: `burst-${crypto.randomUUID()}@example.com`, role: 'viewer' } }),
      ),
    );
    expect(burst.map((r) => r.status).sort()).toEqual([...Array(20).fill(201), ...Array(5).fill(429)]);
  });
});
