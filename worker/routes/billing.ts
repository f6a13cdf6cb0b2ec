// The plan catalogue (what each plan allows) and the organization's current plan and Stripe link.
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { organizations } from '../db/schema';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { ok } from '../lib/http';
import { requireRole, requireUser } from '../middleware/auth';
import { PLAN_NAMES, PLANS } from '../services/plans';

export const billingRoutes = new Hono<AppEnv>()
  .use(requireUser)
  .get('/plans', (c) => ok(c, PLAN_NAMES.map((name) => ({ name, label: PLANS[name].label, limits: PLANS[name].limits }))))
  .get('/', requireRole('admin'), async (c) => {
    const [org] = await c.var.db.select().from(organizations).where(eq(organizations.id, c.var.caller.organizationId)).limit(1);
    if (!org) throw notFound('Organization');
    return ok(c, {
      plan: org.plan, limits: org.limits, stripeCustomerId: org.stripeCustomerId, stripeSubscriptionId: org.stripeSubscriptionId,
      /** Checkout links pass the org id as client_reference_id so checkout.session.completed finds the org. */
      clientReferenceId: org.id,
    });
  });
