// Invitation emails: the development outbox (no SendGrid key) holds an email whose accept link works;
// with a key the real SendGrid wire format reaches a local fake; delivery failures are recorded, not
// fatal; expired and revoked invitations are refused with a clear message.
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_SENDGRID_KEY, fakeSendGrid } from '../support/fake-sendgrid';
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
    expect(mail).toMatchObject({ provider: 'outbox', status: 'outbox', subject: 'Ada Admin invited you to Acme QA on Agnox' });
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

  it('refuses a revoked and an expired invitation\'s link with a clear message', async () => {
    const admin = await signup();
    const revoked = await invite(admin);
    expect((await api('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token })).status).toBe(200);
    const r = await api('GET', `/api/invitations/lookup?token=${revoked.token}`);
    expect(r.status).toBe(410);
    expect(r.json).toMatchObject({ code: 'INVITATION_REVOKED', error: 'This invitation was revoked by an admin' });

    const expired = await invite(admin);
    await env.DB.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?').bind(Date.now() - 1, expired.id).run();
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
  beforeAll(() => { env.SENDGRID_API_KEY = FAKE_SENDGRID_KEY; });
  afterAll(() => { delete env.SENDGRID_API_KEY; });

  it('sends the v3 mail/send request SendGrid expects and records it as sent', async () => {
    const admin = await signup('Globex');
    const inv = await invite(admin);
    expect(inv.delivery).toMatchObject({ provider: 'sendgrid', status: 'sent' });
    const [sent] = await sendgrid.requests(inv.email);
    expect(sent!.authorization).toBe(`Bearer ${FAKE_SENDGRID_KEY}`);
    expect(sent!.body).toMatchObject({
      personalizations: [{ to: [{ email: inv.email }] }], from: { email: 'no-reply@agnox.dev', name: 'Agnox' },
      subject: 'Ada Admin invited you to Globex on Agnox',
    });
    const text = sent!.body.content.find((c: any) => c.type === 'text/plain').value;
    const token = linkIn(text).searchParams.get('token')!;
    expect((await api('POST', '/api/invitations/accept', { body: { token, name: 'Via Mail', password: PASSWORD } })).status).toBe(201);
    const outbox = (await api('GET', '/api/invitations/outbox', { token: admin.token })).json.data;
    expect(outbox[0]).toMatchObject({ provider: 'sendgrid', status: 'sent', to: inv.email });
    expect(outbox[0].sentAt).toBeGreaterThan(0);
  });

  it('keeps the invitation when SendGrid refuses, and records SendGrid\'s reason', async () => {
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
