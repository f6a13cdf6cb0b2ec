// Stripe webhooks: signature good / bad / replayed, idempotent by event id, logged in webhook_logs,
// and the plan (with its limits) following checkout and subscription events.
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import { PLANS } from '../../worker/services/plans';
import { signStripePayload } from '../../worker/services/stripe';
import { api, signup } from './helpers';

const SECRET = 'whsec_test_0123456789abcdef';

/** Posts to the webhook with the endpoint secret configured, as Stripe would. */
async function deliver(payload: string, signature: string | undefined, secret: string | null = SECRET) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cf-connecting-ip': '3.18.12.63' };
  if (signature !== undefined) headers['stripe-signature'] = signature;
  const res = await app.fetch(new Request('http://agnox.test/api/webhooks/stripe', { method: 'POST', headers, body: payload }),
    { ...env, STRIPE_WEBHOOK_SECRET: secret ?? undefined }, createExecutionContext());
  return { status: res.status, json: (await res.json()) as any };
}

const event = (type: string, object: Record<string, unknown>) => JSON.stringify({ id: `evt_${crypto.randomUUID().replace(/-/g, '')}`, type, object: 'event', data: { object } });

async function orgRow(id: string) {
  return env.DB.prepare('SELECT plan, limits, stripe_customer_id, stripe_subscription_id FROM organizations WHERE id = ?').bind(id).first<Record<string, any>>();
}

async function logsOf(eventId: string) {
  return (await env.DB.prepare("SELECT * FROM webhook_logs WHERE provider = 'stripe' AND event_id = ?").bind(eventId).all<Record<string, any>>()).results;
}

describe('Stripe webhook', () => {
  it('accepts a correctly signed checkout.session.completed, moves the org to the plan with its limits, and logs it', async () => {
    const org = await signup();
    const payload = event('checkout.session.completed', { id: 'cs_1', client_reference_id: org.organizationId, customer: 'cus_A1', subscription: 'sub_A1', metadata: { plan: 'team' } });
    const res = await deliver(payload, await signStripePayload(SECRET, payload));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.data).toMatchObject({ received: true, status: 'processed', duplicate: false, organizationId: org.organizationId });
    const row = await orgRow(org.organizationId);
    expect(row).toMatchObject({ plan: 'team', stripe_customer_id: 'cus_A1', stripe_subscription_id: 'sub_A1' });
    expect(JSON.parse(row!.limits)).toEqual(PLANS.team.limits);
    const me = await api('GET', '/api/usage', { token: org.token });
    expect(me.json.data).toMatchObject({ plan: 'team', limits: PLANS.team.limits });
    const logs = await logsOf(JSON.parse(payload).id);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ event_type: 'checkout.session.completed', status: 'processed', organization_id: org.organizationId });
  });

  it('refuses a bad signature, a missing one and a body changed after signing, and changes nothing', async () => {
    const org = await signup();
    const payload = event('checkout.session.completed', { client_reference_id: org.organizationId, customer: 'cus_B', metadata: { plan: 'enterprise' } });
    const wrongSecret = await deliver(payload, await signStripePayload('whsec_someone_else', payload));
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.json).toMatchObject({ success: false, code: 'INVALID_SIGNATURE' });
    expect(wrongSecret.json.error).toContain('does not match');
    const tampered = await deliver(payload.replace('enterprise', 'team'), await signStripePayload(SECRET, payload));
    expect(tampered.status).toBe(400);
    const missing = await deliver(payload, undefined);
    expect(missing.status).toBe(400);
    expect(missing.json.error).toContain('missing Stripe-Signature');
    const garbage = await deliver(payload, 'v1=abc');
    expect(garbage.status).toBe(400);
    expect(garbage.json.error).toContain('malformed');
    expect((await orgRow(org.organizationId))!.plan).toBe('free');
    expect(await logsOf(JSON.parse(payload).id)).toHaveLength(0);
  });

  it('refuses a replay outside the 5-minute tolerance, and handles a replay inside it once (idempotent by event id)', async () => {
    const org = await signup();
    const customer = `cus_${crypto.randomUUID().slice(0, 8)}`;
    await env.DB.prepare('UPDATE organizations SET stripe_customer_id = ? WHERE id = ?').bind(customer, org.organizationId).run();
    const payload = event('customer.subscription.updated', { id: 'sub_R', customer, status: 'active', items: { data: [{ price: { lookup_key: 'team_monthly' } }] } });
    const old = await deliver(payload, await signStripePayload(SECRET, payload, Math.floor(Date.now() / 1000) - 301));
    expect(old.status).toBe(400);
    expect(old.json.error).toContain('tolerance');
    expect((await orgRow(org.organizationId))!.plan).toBe('free');

    const signature = await signStripePayload(SECRET, payload);
    const first = await deliver(payload, signature);
    expect(first.json.data).toMatchObject({ status: 'processed', duplicate: false });
    expect((await orgRow(org.organizationId))!.plan).toBe('team');
    // Someone moves the org back by hand; the replayed delivery must not undo that.
    await env.DB.prepare("UPDATE organizations SET plan = 'enterprise' WHERE id = ?").bind(org.organizationId).run();
    const again = await deliver(payload, signature);
    expect(again.status).toBe(200);
    expect(again.json.data).toMatchObject({ duplicate: true });
    expect((await orgRow(org.organizationId))!.plan).toBe('enterprise');
    expect(await logsOf(JSON.parse(payload).id)).toHaveLength(1);
  });

  it('drops the org to free when the subscription is deleted, and ignores unrelated events', async () => {
    const org = await signup();
    const customer = `cus_${crypto.randomUUID().slice(0, 8)}`;
    const checkout = event('checkout.session.completed', { client_reference_id: org.organizationId, customer, subscription: 'sub_D', metadata: { plan: 'enterprise' } });
    await deliver(checkout, await signStripePayload(SECRET, checkout));
    expect((await orgRow(org.organizationId))!.plan).toBe('enterprise');
    const deleted = event('customer.subscription.deleted', { id: 'sub_D', customer, status: 'canceled' });
    const res = await deliver(deleted, await signStripePayload(SECRET, deleted));
    expect(res.json.data.status).toBe('processed');
    const row = await orgRow(org.organizationId);
    expect(row).toMatchObject({ plan: 'free', stripe_subscription_id: null });
    expect(JSON.parse(row!.limits)).toEqual(PLANS.free.limits);

    const other = event('invoice.paid', { id: 'in_1', customer });
    const ignored = await deliver(other, await signStripePayload(SECRET, other));
    expect(ignored.json.data.status).toBe('ignored');
    expect((await logsOf(JSON.parse(other).id))[0]).toMatchObject({ status: 'ignored' });
  });

  it('answers 503 when no endpoint secret is configured, and 400 for a signed body that is not an event', async () => {
    const payload = event('checkout.session.completed', {});
    const res = await deliver(payload, await signStripePayload(SECRET, payload), null);
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('NOT_CONFIGURED');
    const notEvent = JSON.stringify({ hello: 'world' });
    const bad = await deliver(notEvent, await signStripePayload(SECRET, notEvent));
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('VALIDATION_ERROR');
  });
});
