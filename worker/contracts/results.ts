// Per-test results and log chunks: one shape for hosted runs (agent) and external CI (ingest),
// stored by the execution's room (and archived to R2 when the run ends: services/run-results.ts).
import { z } from 'zod';
import { LogStream } from './vocabulary';

export { LogStream };

export const TestStatus = z.enum(['passed', 'failed', 'skipped', 'timedOut', 'interrupted', 'flaky']);
export type TestStatus = z.infer<typeof TestStatus>;

export const TestError = z.object({
  message: z.string().max(20_000),
  stack: z.string().max(50_000).optional(),
  location: z.string().max(1000).optional(),
});

export const Attachment = z.object({
  name: z.string().max(200),
  contentType: z.string().max(200),
  key: z.string().max(1000).optional(),
  size: z.number().int().nonnegative().optional(),
});

/** One attempt of one test. `testId` is stable across retries of the same test. */
export const TestResult = z.object({
  testId: z.string().min(1).max(500),
  title: z.string().min(1).max(2000),
  file: z.string().max(1000).optional(),
  suite: z.string().max(2000).optional(),
  status: TestStatus,
  durationMs: z
    .number()
    .int()
    .nonnegative()
    .max(7 * 24 * 3600 * 1000)
    .default(0),
  retry: z.number().int().min(0).max(100).default(0),
  error: TestError.optional(),
  attachments: z.array(Attachment).max(50).optional(),
  startedAt: z.number().int().nonnegative().optional(),
});
export type TestResult = z.infer<typeof TestResult>;

/** A numbered piece of a run's log. `seq` starts at 1 and has no gaps; a resent seq is ignored. */
export const LogChunk = z.object({
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  stream: LogStream.default('stdout'),
  data: z.string().max(256 * 1024),
  ts: z.number().int().nonnegative().optional(),
});
export type LogChunk = z.infer<typeof LogChunk>;
export type StoredLogChunk = { seq: number; stream: z.infer<typeof LogStream>; data: string; ts: number };
