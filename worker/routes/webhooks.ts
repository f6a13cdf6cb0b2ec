// Incoming webhooks from providers. Public routes: the signature is the authentication.
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../lib/errors';
import { ok, parse } from '../lib/http';
import { handleStripeEvent, StripeEvent, stripeSignatureProblem } from '../services/stripe';

export const webhookRoutes = new Hono<AppEnv>().post('/stripe', async (c) => {
  const secret = c.env.STRIPE_WEBHOOK_SECRET;
  if (!secret) throw new ApiError(503, 'NOT_CONFIGURED', 'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is not set)');
  // The signature covers the exact bytes Stripe sent, so the body is read raw, before any parsing.
  const payload = await c.req.text();
  const problem = await stripeSignatureProblem(secret, c.req.header('stripe-signature'), payload);
  if (problem) {
    console.warn('stripe webhook refused:', problem);
    throw new ApiError(400, 'INVALID_SIGNATURE', `Stripe signature refused: ${problem}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'Request body is not valid JSON');
  }
  const event = parse(StripeEvent, json, 'Stripe event');
  const result = await handleStripeEvent(c.var.db, event, payload);
  return ok(c, { received: true, eventId: event.id, ...result });
});
