// Billing wire shapes: starting a Stripe Checkout for a paid plan.
import { z } from 'zod';

export const CheckoutBody = z.object({ plan: z.enum(['team', 'enterprise']) });
export type CheckoutBody = z.infer<typeof CheckoutBody>;

export const CheckoutResponse = z.object({ sessionId: z.string(), url: z.string(), plan: z.string() });
export type CheckoutResponse = z.infer<typeof CheckoutResponse>;
