// Test cycles: a group of manual items (a tester marks them) and automated items (a run started
// from the cycle sets them). Cycles created by the ingest API (external CI) are listed too.
import { z } from 'zod';
import { EnvironmentName, IdParam, LabelMap } from './common';

/** Item statuses. Manual items are marked PASSED/FAILED/BLOCKED/SKIPPED (or back to PENDING); automated ones follow their run. */
export const ITEM_STATUSES = ['PENDING', 'RUNNING', 'PASSED', 'FAILED', 'BLOCKED', 'SKIPPED', 'ERROR', 'TIMED_OUT', 'CANCELLED'] as const;
export const ManualItemStatus = z
  .string()
  .trim()
  .toUpperCase()
  .pipe(z.enum(['PENDING', 'PASSED', 'FAILED', 'BLOCKED', 'SKIPPED']));

export const CycleCreateBody = z.object({
  projectId: IdParam,
  name: z.string().trim().min(1).max(200),
  items: z
    .array(
      z.object({
        testCaseId: IdParam,
        /** Defaults to the test case's own type. */
        type: z.enum(['manual', 'automated']).optional(),
      }),
    )
    .min(1)
    .max(500),
});

export const CycleItemUpdateBody = z
  .object({
    status: ManualItemStatus.optional(),
    notes: z.string().max(10_000).nullable().optional(),
  })
  .refine((b) => b.status !== undefined || b.notes !== undefined, 'give a status, notes, or both');

export const CycleRunBody = z.object({
  environment: EnvironmentName.optional(),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
  labels: LabelMap.optional(),
  queue: z.enum(['org', 'hosted']).default('org'),
});

export const CycleListQuery = z.object({
  projectId: IdParam.optional(),
  source: z.string().max(40).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
