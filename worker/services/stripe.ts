// Stripe webhooks without the SDK: the `Stripe-Signature` header is `t=<unix s>,v1=<hex>[,v1=…]`,
// where v1 is HMAC-SHA256 over `${t}.${rawBody}` with the endpoint secret (Stripe's documented
// scheme). Events change the organization's plan; each event id is handled once (webhook_logs).
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { organizations, webhookLogs } from '../db/schema';
import type { AppEnv } from '../env';
import { newId, secretsEqual } from '../lib/crypto';
import { isPlanName, PLANS, type PlanName } from './plans';

type Db = AppEnv['Variables']['db'];

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
  const price = ((sub.items as { data?: Array<{ price?: Record<string, unknown> }> } | undefined)?.data?.[0]?.price) ?? {};
  return metadataPlan(price) ?? str(price.lookup_key)?.split(/[_-]/)[0];
}

type Outcome = { status: 'processed' | 'ignored'; organizationId?: string; note?: string };

async function setPlan(db: Db, organizationId: string, plan: PlanName, stripe: { customerId?: string | null; subscriptionId?: string | null }) {
  const [row] = await db.update(organizations).set({
    plan, limits: PLANS[plan].limits, updatedAt: Date.now(),
    ...(stripe.customerId !== undefined ? { stripeCustomerId: stripe.customerId } : {}),
    ...(stripe.subscriptionId !== undefined ? { stripeSubscriptionId: stripe.subscriptionId } : {}),
  }).where(eq(organizations.id, organizationId)).returning({ id: organizations.id });
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
    case 'checkout.session.completed': {
      // The dashboard's checkout link carries the org id as client_reference_id and the plan in metadata.
      const organizationId = str(o.client_reference_id);
      const plan = metadataPlan(o) ?? 'team';
      if (!organizationId) return { status: 'ignored', note: 'checkout session without client_reference_id' };
      if (!isPlanName(plan)) return { status: 'ignored', organizationId, note: `unknown plan '${plan}'` };
      const updated = await setPlan(db, organizationId, plan, { customerId: str(o.customer) ?? null, subscriptionId: str(o.subscription) ?? null });
      return updated ? { status: 'processed', organizationId, note: `plan ${plan}` } : { status: 'ignored', note: `no organization ${organizationId}` };
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
  const [existing] = await db.select().from(webhookLogs)
    .where(and(eq(webhookLogs.provider, 'stripe'), eq(webhookLogs.eventId, event.id))).limit(1);
  if (existing && existing.status !== 'failed') {
    return { duplicate: true, status: existing.status as Outcome['status'], organizationId: existing.organizationId ?? undefined };
  }
  if (!existing) {
    // The unique (provider, event_id) index makes a concurrent second delivery lose here.
    const inserted = await db.insert(webhookLogs).values({
      id: newId(), provider: 'stripe', eventId: event.id, eventType: event.type, status: 'processing', payload, createdAt: Date.now(),
    }).onConflictDoNothing().returning({ id: webhookLogs.id });
    if (!inserted.length) return { duplicate: true, status: 'processed' };
  }
  const where = and(eq(webhookLogs.provider, 'stripe'), eq(webhookLogs.eventId, event.id));
  try {
    const outcome = await applyEvent(db, event);
    await db.update(webhookLogs).set({ status: outcome.status, organizationId: outcome.organizationId ?? null, error: outcome.note ?? null }).where(where);
    return { ...outcome, duplicate: false };
  } catch (err) {
    await db.update(webhookLogs).set({ status: 'failed', error: String(err).slice(0, 1000) }).where(where);
    throw err;
  }
}
