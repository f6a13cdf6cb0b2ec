// AI root-cause analysis: the answer asked of the model (validated with zod) and the record stored in
// executions.analysis, which the dashboard and Slack read.
import { z } from 'zod';

export const FailureCategory = z.enum(['product_bug', 'test_bug', 'environment', 'infrastructure', 'flaky', 'unknown']);
export type FailureCategory = z.infer<typeof FailureCategory>;

/** What Gemini must answer (JSON mode, responseSchema below says the same to the model). */
export const RootCauseAnswer = z.object({
  summary: z.string().min(1).max(2000),
  likelyCause: z.string().min(1).max(4000),
  category: FailureCategory,
  suggestedFix: z.string().min(1).max(4000),
  confidence: z.number().min(0).max(1),
});
export type RootCauseAnswer = z.infer<typeof RootCauseAnswer>;

export const AnalysisStatus = z.enum(['pending', 'done', 'failed', 'skipped']);

/** executions.analysis. `pending` while the run is ANALYZING; `finalStatus` is what the run becomes after. */
export const AnalysisRecord = z.object({
  status: AnalysisStatus,
  finalStatus: z.enum(['FAILED', 'ERROR']).optional(),
  summary: z.string().optional(),
  likelyCause: z.string().optional(),
  category: FailureCategory.optional(),
  suggestedFix: z.string().optional(),
  confidence: z.number().optional(),
  /** Why the analysis failed or was skipped, in words a user can act on. */
  error: z.string().optional(),
  /** Machine code of a failure: NOT_CONFIGURED, OPTED_OUT, RATE_LIMITED, UPSTREAM_ERROR, TIMEOUT, BLOCKED, MALFORMED, ABANDONED, NO_FAILURES. */
  code: z.string().optional(),
  model: z.string().optional(),
  /** Characters of input sent, and whether any section was cut to fit the cap. */
  inputChars: z.number().optional(),
  truncated: z.boolean().optional(),
  requestedAt: z.number().optional(),
  at: z.number().optional(),
});
export type AnalysisRecord = z.infer<typeof AnalysisRecord>;
