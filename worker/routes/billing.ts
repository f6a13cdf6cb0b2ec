// The plan catalogue (what each plan allows), the organization's current plan and Stripe ids, and
// starting a Stripe Checkout for an upgrade (the session is bound to the org: services/stripe.ts).
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { CheckoutBody } from '../contracts/billing';
import { organizations } from '../db/schema';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { ok, readBody } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { PLAN_NAMES, PLANS } from '../services/plans';
import { createCheckoutSession } from '../services/stripe';

export const billingRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/plans', (c) =>
    ok(
      c,
      PLAN_NAMES.map((name) => ({ name, label: PLANS[name].label, limits: PLANS[name].limits })),
    ),
  )
  .get('/', requireRole('admin'), async (c) => {
    const [org] = await c.var.db.select().from(organizations).where(eq(organizations.id, c.var.caller.organizationId)).limit(1);
    if (!org) throw notFound('Organization');
    return ok(c, {
      plan: org.plan,
      limits: org.limits,
      stripeCustomerId: org.stripeCustomerId,
      stripeSubscriptionId: org.stripeSubscriptionId,
      /** Checkout sessions (POST /api/billing/checkout) carry the org id as client_reference_id. */
      clientReferenceId: org.id,
    });
  })
  /** A Stripe Checkout session for `plan`: the dashboard sends the admin to its url. */
  .post('/checkout', requireRole('admin'), async (c) => {
    const { plan } = await readBody(c, CheckoutBody);
    const [org] = await c.var.db
      .select({ id: organizations.id, stripeCustomerId: organizations.stripeCustomerId })
      .from(organizations)
      .where(eq(organizations.id, c.var.caller.organizationId))
      .limit(1);
    if (!org) throw notFound('Organization');
    return ok(c, await createCheckoutSession(c.env, c.var.db, org, plan), 201);
  });
