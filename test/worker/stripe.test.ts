// Stripe webhooks: signature good / bad / replayed, idempotent by event id, logged in webhook_logs,
// and the plan (with its limits) following checkout and subscription events. Checkout sessions are
// created through the real route against the local fake Stripe API (test/support/fake-stripe.ts); only
// a paid completion of the session created for an org changes that org's plan.
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import { PLANS } from '../../worker/services/plans';
import { signStripePayload } from '../../worker/services/stripe';
import { FAKE_STRIPE_SECRET_KEY, fakeStripe } from '../support/fake-stripe';
import { addMember, api, signup, type Org } from './helpers';

const SECRET = 'whsec_test_0123456789abcdef';
const stripeApi = fakeStripe(env.STRIPE_API_BASE_URL!);

beforeAll(() => {
  env.STRIPE_SECRET_KEY = FAKE_STRIPE_SECRET_KEY;
  env.STRIPE_PRICES = 'team=price_team_monthly, enterprise=price_enterprise_monthly';
});
afterAll(() => {
  delete env.STRIPE_SECRET_KEY;
  delete env.STRIPE_PRICES;
});

/** Starts a checkout for `plan` as the org's admin; the session's id, as Stripe created it. */
async function checkout(org: Org, plan = 'team'): Promise<string> {
  const res = await api('POST', '/api/billing/checkout', { token: org.token, body: { plan } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data.sessionId;
}

/** The checkout.session.* event Stripe sends for a session made by checkout(). */
const session = (id: string, organizationId: string, extra: Record<string, unknown> = {}) => ({
  id,
  object: 'checkout.session',
  client_reference_id: organizationId,
  metadata: { organizationId, plan: 'team' },
  payment_status: 'paid',
  status: 'complete',
  ...extra,
});

/** Posts to the webhook with the endpoint secret configured, as Stripe would. */
async function deliver(payload: string, signature: string | undefined, secret: string | null = SECRET) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cf-connecting-ip': '3.18.12.63' };
  if (signature !== undefined) headers['stripe-signature'] = signature;
  const res = await app.fetch(
    new Request('http://agnox.test/api/webhooks/stripe', { method: 'POST', headers, body: payload }),
    { ...env, STRIPE_WEBHOOK_SECRET: secret ?? undefined },
    createExecutionContext(),
  );
  return { status: res.status, json: (await res.json()) as any };
}

const event = (type: string, object: Record<string, unknown>) =>
  JSON.stringify({ id: `evt_${crypto.randomUUID().replace(/-/g, '')}`, type, object: 'event', data: { object } });

async function orgRow(id: string) {
  return env.DB.prepare('SELECT plan, limits, stripe_customer_id, stripe_subscription_id FROM organizations WHERE id = ?')
    .bind(id)
    .first<Record<string, any>>();
}

async function logsOf(eventId: string) {
  return (await env.DB.prepare("SELECT * FROM webhook_logs WHERE provider = 'stripe' AND event_id = ?").bind(eventId).all<Record<string, any>>()).results;
}

describe('Stripe webhook', () => {
  it('accepts a correctly signed checkout.session.completed, moves the org to the plan with its limits, and logs it', async () => {
    const org = await signup();
    const sessionId = await checkout(org);
    const [created] = await stripeApi.requests(org.organizationId);
    expect(created!.fields).toMatchObject({
      mode: 'subscription',
      'line_items[0][price]': 'price_team_monthly',
      client_reference_id: org.organizationId,
      'metadata[organizationId]': org.organizationId,
      'metadata[plan]': 'team',
    });
    expect(created!.session.id).toBe(sessionId);
    const payload = event('checkout.session.completed', session(sessionId, org.organizationId, { customer: 'cus_A1', subscription: 'sub_A1' }));
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
    const payload = event('customer.subscription.updated', {
      id: 'sub_R',
      customer,
      status: 'active',
      items: { data: [{ price: { lookup_key: 'team_monthly' } }] },
    });
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
    const sessionId = await checkout(org, 'enterprise');
    const completed = event(
      'checkout.session.completed',
      session(sessionId, org.organizationId, { customer, subscription: 'sub_D', metadata: { organizationId: org.organizationId, plan: 'enterprise' } }),
    );
    await deliver(completed, await signStripePayload(SECRET, completed));
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

  it('changes the plan only once the checkout is paid: an unpaid completion waits for async_payment_succeeded; a failed payment changes nothing', async () => {
    const org = await signup();
    const sessionId = await checkout(org);
    const unpaid = event('checkout.session.completed', session(sessionId, org.organizationId, { payment_status: 'unpaid' }));
    const first = await deliver(unpaid, await signStripePayload(SECRET, unpaid));
    expect(first.json.data).toMatchObject({ status: 'ignored', organizationId: org.organizationId });
    expect((await logsOf(JSON.parse(unpaid).id))[0]!.error).toContain('not paid');
    expect((await orgRow(org.organizationId))!.plan).toBe('free');

    const failed = event('checkout.session.async_payment_failed', session(sessionId, org.organizationId, { payment_status: 'unpaid' }));
    expect((await deliver(failed, await signStripePayload(SECRET, failed))).json.data).toMatchObject({ status: 'ignored' });
    expect((await logsOf(JSON.parse(failed).id))[0]).toMatchObject({ event_type: 'checkout.session.async_payment_failed', status: 'ignored' });
    expect((await orgRow(org.organizationId))!.plan).toBe('free');

    const succeeded = event('checkout.session.async_payment_succeeded', session(sessionId, org.organizationId, { customer: 'cus_async' }));
    expect((await deliver(succeeded, await signStripePayload(SECRET, succeeded))).json.data).toMatchObject({ status: 'processed' });
    expect(await orgRow(org.organizationId)).toMatchObject({ plan: 'team', stripe_customer_id: 'cus_async' });

    // A checkout that costs nothing (a 100% coupon) completes as no_payment_required.
    const other = await signup();
    const free = event('checkout.session.completed', session(await checkout(other), other.organizationId, { payment_status: 'no_payment_required' }));
    expect((await deliver(free, await signStripePayload(SECRET, free))).json.data.status).toBe('processed');
    expect((await orgRow(other.organizationId))!.plan).toBe('team');
  });

  it('upgrades only the org a checkout session was created for: not another org named by client_reference_id, not a session it never created', async () => {
    const a = await signup();
    const b = await signup();
    const sessionOfA = await checkout(a);
    await checkout(b); // b has a session of its own: still not a's
    for (const forged of [
      session(sessionOfA, b.organizationId, { metadata: { plan: 'enterprise' } }),
      session(sessionOfA, b.organizationId, { metadata: { organizationId: b.organizationId, plan: 'enterprise' } }),
      session(sessionOfA, a.organizationId, { metadata: { organizationId: b.organizationId, plan: 'enterprise' } }),
      session('cs_live_payment_link_not_ours', b.organizationId, { metadata: { plan: 'enterprise' } }),
      session('', b.organizationId),
    ]) {
      const payload = event('checkout.session.completed', forged);
      const res = await deliver(payload, await signStripePayload(SECRET, payload));
      expect(res.status).toBe(200);
      expect(res.json.data.status, JSON.stringify(forged)).toBe('ignored');
    }
    expect((await orgRow(a.organizationId))!.plan).toBe('free');
    expect((await orgRow(b.organizationId))!.plan).toBe('free');
    // The genuine completion still works afterwards.
    const genuine = event('checkout.session.completed', session(sessionOfA, a.organizationId));
    expect((await deliver(genuine, await signStripePayload(SECRET, genuine))).json.data.status).toBe('processed');
    expect((await orgRow(a.organizationId))!.plan).toBe('team');
    expect((await orgRow(b.organizationId))!.plan).toBe('free');
  });

  it('creates checkout sessions for admins only, for paid plans, and answers 503 when Stripe is not configured', async () => {
    const org = await signup();
    const developer = await addMember(org, 'developer');
    expect((await api('POST', '/api/billing/checkout', { token: developer.token, body: { plan: 'team' } })).status).toBe(403);
    expect((await api('POST', '/api/billing/checkout', { token: org.token, body: { plan: 'free' } })).status).toBe(400);
    const key = env.STRIPE_SECRET_KEY;
    delete env.STRIPE_SECRET_KEY;
    try {
      const off = await api('POST', '/api/billing/checkout', { token: org.token, body: { plan: 'team' } });
      expect(off.status).toBe(503);
      expect(off.json).toMatchObject({ success: false, code: 'NOT_CONFIGURED' });
    } finally {
      env.STRIPE_SECRET_KEY = key;
    }
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
