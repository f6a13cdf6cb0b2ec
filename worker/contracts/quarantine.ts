// Quarantine API shapes: a member parks a flaky test with an owner, a reason and an expiry.
import { z } from 'zod';

export const MAX_QUARANTINE_DAYS = 180;

const ExpiresAt = z
  .number()
  .int()
  .positive()
  .refine((t) => t > Date.now(), 'expiresAt must be in the future')
  .refine((t) => t <= Date.now() + MAX_QUARANTINE_DAYS * 86_400_000, `expiresAt may be at most ${MAX_QUARANTINE_DAYS} days ahead`);

export const QuarantineCreateBody = z.object({
  projectId: z.string().min(1).max(100),
  /** The test's title as reported (its full title path). */
  title: z.string().trim().min(1).max(2000),
  /** The test's file, when the runner reports one; part of the test's identity. */
  file: z.string().trim().max(1000).optional(),
  owner: z.string().trim().min(1).max(200),
  reason: z.string().trim().min(1).max(2000),
  expiresAt: ExpiresAt,
});
export type QuarantineCreateBody = z.infer<typeof QuarantineCreateBody>;

export const QuarantineUpdateBody = z
  .object({
    owner: z.string().trim().min(1).max(200).optional(),
    reason: z.string().trim().min(1).max(2000).optional(),
    expiresAt: ExpiresAt.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'Nothing to update');

export const QuarantineListQuery = z.object({
  projectId: z.string().min(1).max(100).optional(),
  /** Include expired quarantines (the dashboard's history); default: only those in force. */
  includeExpired: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
});

/** What the agent and the reporter fetch at the start of a run. */
export const QuarantineActiveQuery = z.object({ projectId: z.string().min(1).max(100) });

export type QuarantineEntry = {
  id: string;
  projectId: string;
  testKey: string;
  title: string;
  owner: string;
  reason: string;
  expiresAt: number;
  expired: boolean;
  createdBy: string | null;
  createdAt: number;
};
