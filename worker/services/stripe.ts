// Stripe without the SDK: Checkout sessions created through the REST API, and webhooks whose
// `Stripe-Signature` header is `t=<unix s>,v1=<hex>[,v1=…]`, where v1 is HMAC-SHA256 over
// `${t}.${rawBody}` with the endpoint secret (Stripe's documented scheme). Events change the
// organization's plan; each event id is handled once (webhook_logs).
//
// A checkout changes a plan only when it is paid, and only for the organization it was created for:
// createCheckoutSession stores the session id on the org, and a completed session whose id is not the
// one stored for the org it names (client_reference_id) is ignored — a session made for org A cannot
// upgrade org B.
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { organizations, webhookLogs } from '../db/schema';
import type { Env } from '../env';
import { newId, secretsEqual } from '../lib/crypto';
import { ApiError } from '../lib/errors';
import { isPlanName, PLANS, type PlanName } from './plans';
import type { Db } from '../bindings';

/** Stripe's default tolerance: a signed request older (or newer) than this is a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)));
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The header value Stripe would send for `payload` at `timestamp` (seconds); used by tests and tools. */
export async function signStripePayload(secret: string, payload: string, timestamp = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${timestamp},v1=${await hmacHex(secret, `${timestamp}.${payload}`)}`;
}

/** Null when the signature is good; otherwise why not (for the 400 and the log). */
export async function stripeSignatureProblem(secret: string, header: string | undefined, payload: string, nowMs = Date.now()): Promise<string | null> {
  if (!header) return 'missing Stripe-Signature header';
  const parts = header.split(',').map((p) => p.trim().split('=') as [string, string | undefined]);
  const timestamp = Number(parts.find(([k]) => k === 't')?.[1]);
  const signatures = parts.filter(([k, v]) => k === 'v1' && v).map(([, v]) => v!.toLowerCase());
  if (!Number.isInteger(timestamp) || !signatures.length) return 'malformed Stripe-Signature header (expected t=…,v1=…)';
  if (Math.abs(nowMs / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    return `signature timestamp is outside the ${SIGNATURE_TOLERANCE_SECONDS} s tolerance (replayed or clock skew)`;
  }
  const expected = await hmacHex(secret, `${timestamp}.${payload}`);
  // Every candidate is compared (no early exit), each in constant time.
  const matches = await Promise.all(signatures.map((s) => secretsEqual(s, expected)));
  const match = matches.includes(true);
  return match ? null : 'signature does not match (wrong endpoint secret or modified body)';
}

/** The part of a Stripe event this handler reads; everything else is ignored. */
export const StripeEvent = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
export type StripeEvent = z.infer<typeof StripeEvent>;

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
const metadataPlan = (o: Record<string, unknown>) => str((o.metadata as Record<string, unknown> | undefined)?.plan);

/** The plan a subscription is for: its metadata.plan, else its first price's metadata.plan or lookup_key (e.g. "team_monthly"). */
function subscriptionPlan(sub: Record<string, unknown>): string | undefined {
  const direct = metadataPlan(sub);
  if (direct) return direct;
  const price = (sub.items as { data?: Array<{ price?: Record<string, unknown> }> } | undefined)?.data?.[0]?.price ?? {};
  return metadataPlan(price) ?? str(price.lookup_key)?.split(/[_-]/)[0];
}

type Outcome = { status: 'processed' | 'ignored'; organizationId?: string; note?: string };

/** The Stripe price of each paid plan: STRIPE_PRICES = "team=price_…,enterprise=price_…". */
export function stripePrices(env: Pick<Env, 'STRIPE_PRICES'>): Partial<Record<PlanName, string>> {
  const prices: Partial<Record<PlanName, string>> = {};
  for (const pair of (env.STRIPE_PRICES ?? '').split(',')) {
    const [plan, price] = pair.split('=').map((p) => p.trim());
    if (isPlanName(plan) && price) prices[plan] = price;
  }
  return prices;
}

/**
 * Creates a Stripe Checkout session for the org's upgrade to `plan` and stores its id on the org:
 * the webhook honours only this session's completion for this org (the last one created counts).
 */
export async function createCheckoutSession(env: Env, db: Db, org: { id: string; stripeCustomerId: string | null }, plan: PlanName) {
  const key = env.STRIPE_SECRET_KEY?.trim();
  const price = stripePrices(env)[plan];
  if (!key || !price)
    throw new ApiError(
      503,
      'NOT_CONFIGURED',
      `Checkout is not configured (${!key ? 'STRIPE_SECRET_KEY is not set' : `STRIPE_PRICES has no price for ${plan}`})`,
    );
  const back = `${env.PUBLIC_URL.replace(/\/+$/, '')}/settings/billing`;
  const form = new URLSearchParams({
    mode: 'subscription',
    'line_items[0][price]': price,
    'line_items[0][quantity]': '1',
    client_reference_id: org.id,
    'metadata[organizationId]': org.id,
    'metadata[plan]': plan,
    'subscription_data[metadata][plan]': plan,
    success_url: `${back}?checkout=success`,
    cancel_url: `${back}?checkout=cancelled`,
  });
  if (org.stripeCustomerId) form.set('customer', org.stripeCustomerId);
  const base = env.STRIPE_API_BASE_URL?.trim().replace(/\/+$/, '') || 'https://api.stripe.com';
  type Answer = { id?: unknown; url?: unknown; error?: { message?: unknown } };
  let answer: Answer | null = null;
  let status = 0;
  try {
    const res = await fetch(`${base}/v1/checkout/sessions`, {
      method: 'POST',
      body: form,
      signal: AbortSignal.timeout(10_000),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    status = res.status;
    answer = await res.json<Answer>().catch(() => null);
  } catch (err) {
    throw new ApiError(502, 'STRIPE_UNAVAILABLE', `Stripe could not be reached: ${err instanceof Error ? err.message : String(err)}`);
  }
  const id = str(answer?.id);
  const url = str(answer?.url);
  if (status !== 200 || !id || !url)
    throw new ApiError(502, 'STRIPE_ERROR', `Stripe refused the checkout session (${status}): ${String(answer?.error?.message ?? 'no session in the answer')}`);
  await db.update(organizations).set({ stripeCheckoutSessionId: id, updatedAt: Date.now() }).where(eq(organizations.id, org.id));
  return { sessionId: id, url, plan };
}

/** The org a checkout session event is for, when that session is the one Agnox created for it; else why not. */
async function checkoutOrg(db: Db, o: Record<string, unknown>): Promise<{ organizationId: string } | { ignored: Outcome }> {
  const sessionId = str(o.id);
  const organizationId = str(o.client_reference_id);
  const metadataOrg = str((o.metadata as Record<string, unknown> | undefined)?.organizationId);
  if (!sessionId || !organizationId) return { ignored: { status: 'ignored', note: 'checkout session without id or client_reference_id' } };
  const [org] = await db.select({ sessionId: organizations.stripeCheckoutSessionId }).from(organizations).where(eq(organizations.id, organizationId)).limit(1);
  if (!org || org.sessionId !== sessionId || (metadataOrg && metadataOrg !== organizationId)) {
    console.warn('stripe checkout session not bound to the organization it names; ignored', sessionId, organizationId);
    return { ignored: { status: 'ignored', note: `checkout session ${sessionId} is not the one created for organization ${organizationId}` } };
  }
  return { organizationId };
}

async function setPlan(db: Db, organizationId: string, plan: PlanName, stripe: { customerId?: string | null; subscriptionId?: string | null }) {
  const [row] = await db
    .update(organizations)
    .set({
      plan,
      limits: PLANS[plan].limits,
      updatedAt: Date.now(),
      ...(stripe.customerId !== undefined ? { stripeCustomerId: stripe.customerId } : {}),
      ...(stripe.subscriptionId !== undefined ? { stripeSubscriptionId: stripe.subscriptionId } : {}),
    })
    .where(eq(organizations.id, organizationId))
    .returning({ id: organizations.id });
  return row?.id;
}

async function orgByCustomer(db: Db, customerId: string | undefined) {
  if (!customerId) return undefined;
  const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.stripeCustomerId, customerId)).limit(1);
  return org?.id;
}

/** Applies one verified event to the organization it concerns. */
async function applyEvent(db: Db, event: StripeEvent): Promise<Outcome> {
  const o = event.data.object;
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      // createCheckoutSession put the org id in client_reference_id and metadata, and the plan in metadata.
      const bound = await checkoutOrg(db, o);
      if ('ignored' in bound) return bound.ignored;
      const { organizationId } = bound;
      // A delayed payment method (SEPA, ACH…) completes the session unpaid; async_payment_succeeded follows.
      if (o.payment_status !== 'paid' && o.payment_status !== 'no_payment_required') {
        return {
          status: 'ignored',
          organizationId,
          note: `checkout not paid (payment_status ${String(o.payment_status)}); the plan changes when the payment succeeds`,
        };
      }
      const plan = metadataPlan(o);
      if (!isPlanName(plan)) return { status: 'ignored', organizationId, note: `unknown plan '${plan ?? ''}'` };
      const updated = await setPlan(db, organizationId, plan, { customerId: str(o.customer) ?? null, subscriptionId: str(o.subscription) ?? null });
      return updated ? { status: 'processed', organizationId, note: `plan ${plan}` } : { status: 'ignored', note: `no organization ${organizationId}` };
    }
    case 'checkout.session.async_payment_failed': {
      const bound = await checkoutOrg(db, o);
      const organizationId = 'ignored' in bound ? undefined : bound.organizationId;
      console.warn('stripe checkout payment failed; plan unchanged', str(o.id), organizationId);
      return { status: 'ignored', organizationId, note: "the checkout's payment failed; plan unchanged" };
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated': {
      const organizationId = await orgByCustomer(db, str(o.customer));
      if (!organizationId) return { status: 'ignored', note: `no organization for customer ${str(o.customer) ?? '?'}` };
      const active = ['active', 'trialing', 'past_due'].includes(String(o.status));
      const plan = active ? subscriptionPlan(o) : 'free';
      if (!isPlanName(plan)) return { status: 'ignored', organizationId, note: `unknown plan '${plan ?? ''}'` };
      await setPlan(db, organizationId, plan, { subscriptionId: active ? (str(o.id) ?? null) : null });
      return { status: 'processed', organizationId, note: `plan ${plan} (subscription ${String(o.status)})` };
    }
    case 'customer.subscription.deleted': {
      const organizationId = await orgByCustomer(db, str(o.customer));
      if (!organizationId) return { status: 'ignored', note: `no organization for customer ${str(o.customer) ?? '?'}` };
      await setPlan(db, organizationId, 'free', { subscriptionId: null });
      return { status: 'processed', organizationId, note: 'plan free (subscription deleted)' };
    }
    default:
      return { status: 'ignored', note: `event type ${event.type} is not used` };
  }
}

/**
 * Handles a verified event once. A delivery of an event already processed (or ignored) is a
 * duplicate and changes nothing; one that failed before is tried again (Stripe retries failures).
 */
export async function handleStripeEvent(db: Db, event: StripeEvent, payload: string): Promise<Outcome & { duplicate: boolean }> {
  const [existing] = await db
    .select()
    .from(webhookLogs)
    .where(and(eq(webhookLogs.provider, 'stripe'), eq(webhookLogs.eventId, event.id)))
    .limit(1);
  if (existing && existing.status !== 'failed') {
    return { duplicate: true, status: existing.status as Outcome['status'], organizationId: existing.organizationId ?? undefined };
  }
  if (!existing) {
    // The unique (provider, event_id) index makes a concurrent second delivery lose here.
    const inserted = await db
      .insert(webhookLogs)
      .values({
        id: newId(),
        provider: 'stripe',
        eventId: event.id,
        eventType: event.type,
        status: 'processing',
        payload,
        createdAt: Date.now(),
      })
      .onConflictDoNothing()
      .returning({ id: webhookLogs.id });
    if (!inserted.length) return { duplicate: true, status: 'processed' };
  }
  const where = and(eq(webhookLogs.provider, 'stripe'), eq(webhookLogs.eventId, event.id));
  try {
    const outcome = await applyEvent(db, event);
    await db
      .update(webhookLogs)
      .set({ status: outcome.status, organizationId: outcome.organizationId ?? null, error: outcome.note ?? null })
      .where(where);
    return { ...outcome, duplicate: false };
  } catch (err) {
    await db
      .update(webhookLogs)
      .set({ status: 'failed', error: String(err).slice(0, 1000) })
      .where(where);
    throw err;
  }
}
