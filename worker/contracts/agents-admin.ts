import { z } from 'zod';

export const RegistrationTokenBody = z.object({
  /** How long the token can be used to register, in minutes (default 60, at most 7 days). */
  expiresInMinutes: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
});
export const AgentUpdateBody = z.object({ disabled: z.boolean() });
