// Test cases: manual and automated, per project, with steps (action → expected result).
import { z } from 'zod';
import { IdParam } from './common';

export const TestStep = z.object({
  action: z.string().trim().min(1).max(2000),
  expected: z.string().trim().max(2000).default(''),
});
export const Priority = z.enum(['low', 'medium', 'high', 'critical']);
export const CaseType = z.enum(['manual', 'automated']);
const Tag = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .regex(/^[^,]+$/, 'tags cannot contain commas');

const caseFields = {
  title: z.string().trim().min(1).max(300),
  suite: z.string().trim().min(1).max(200).nullable(),
  description: z.string().max(10_000).nullable(),
  preconditions: z.string().max(10_000).nullable(),
  steps: z.array(TestStep).max(200),
  priority: Priority,
  tags: z
    .array(Tag)
    .max(30)
    .transform((t) => [...new Set(t)]),
  type: CaseType,
  /** Automated cases: the test a cycle's run selects (file, folder or test id). */
  automatedTest: z.string().trim().min(1).max(500).nullable(),
};

export const TestCaseCreateBody = z.object({
  projectId: IdParam,
  title: caseFields.title,
  suite: caseFields.suite.optional(),
  description: caseFields.description.optional(),
  preconditions: caseFields.preconditions.optional(),
  steps: caseFields.steps.default([]),
  priority: Priority.default('medium'),
  tags: caseFields.tags.default([]),
  type: CaseType.default('manual'),
  automatedTest: caseFields.automatedTest.optional(),
});

export const TestCaseUpdateBody = z.object(caseFields).partial();

export const TestCaseListQuery = z.object({
  projectId: IdParam.optional(),
  suite: z.string().max(200).optional(),
  tag: z.string().max(50).optional(),
  type: CaseType.optional(),
  /** Words in the title or description. */
  q: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

/** AI step generation: from a title and a short description. */
export const GenerateStepsBody = z.object({
  title: z.string().trim().min(1).max(300),
  description: z.string().max(4000).optional(),
  projectId: IdParam.optional(),
});

/** What Gemini must answer (checked before the user sees it). */
export const GeneratedSteps = z.object({
  steps: z
    .array(z.object({ action: z.string().trim().min(1).max(2000), expected: z.string().trim().min(1).max(2000) }))
    .min(1)
    .max(30),
  preconditions: z.string().max(2000).optional(),
});
