// The ingest API (`x-api-key`): what `@agnox/playwright-reporter` sends for a run that happens
// outside Agnox. Seed 004's shapes exactly, plus additive fields (marked "additive") that make
// delivery idempotent (seq, batchId, runId), report retries per attempt, merge shards and carry
// the first error's stack and location. The reporter imports these as types only.
import { z } from 'zod';
import { EnvironmentName } from './common';

export const Framework = z.enum(['playwright', 'jest', 'vitest', 'cypress']);

export const CiSource = z.enum(['github', 'gitlab', 'azure', 'jenkins', 'circleci', 'buildkite', 'local']);

export const CiContext = z.object({
  source: CiSource,
  repository: z.string().max(500).optional(),
  branch: z.string().max(500).optional(),
  prNumber: z.number().int().nonnegative().optional(),
  commitSha: z.string().max(100).optional(),
  runUrl: z.string().max(2000).optional(),
  /** additive: the CI build that all shards of one run share. */
  buildId: z.string().max(500).optional(),
});
export type CiContext = z.infer<typeof CiContext>;

/** additive: which shard of a sharded run (`--shard current/total`). */
export const Shard = z
  .object({ current: z.number().int().min(1).max(1000), total: z.number().int().min(1).max(1000) })
  .refine((s) => s.current <= s.total, 'shard.current must be ≤ shard.total');
export type Shard = z.infer<typeof Shard>;

/** A run key: every setup with the same key (same org and project) joins the same execution. */
export const RunId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:/@#+-]+$/, 'letters, digits and . : / @ # + - _ only');

export const SetupBody = z.object({
  projectId: z.string().min(1).max(100),
  runName: z.string().trim().min(1).max(300).optional(),
  framework: Framework,
  reporterVersion: z.string().min(1).max(50),
  totalTests: z.number().int().nonnegative().max(1_000_000),
  environment: EnvironmentName.optional(),
  ciContext: CiContext.optional(),
  /** additive: shards (and replays of a spool) with the same runId land in one execution. */
  runId: RunId.optional(),
  shard: Shard.optional(),
});
export type SetupBody = z.infer<typeof SetupBody>;

export const SetupResponse = z.object({ sessionId: z.string(), taskId: z.string(), cycleId: z.string() });
export type SetupResponse = z.infer<typeof SetupResponse>;

const Timestamp = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** additive: the reporter numbers its events from 1, so a resent batch can be recognised. */
const Seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional();
const TestId = z.string().min(1).max(500);
/** additive: the attempt (Playwright's `retry`), 0 for the first run of a test. */
const Retry = z.number().int().min(0).max(100).optional();

export const AttachmentRef = z.object({
  name: z.string().min(1).max(200),
  contentType: z.string().min(1).max(200),
  key: z.string().max(1000).optional(),
  size: z.number().int().nonnegative().optional(),
});

export const LogEvent = z.object({
  type: z.literal('log'),
  testId: TestId.optional(),
  chunk: z.string().max(256 * 1024),
  timestamp: Timestamp,
  seq: Seq,
  /** additive: which stream; the seed prefixed stderr with "[stderr] " instead. */
  stream: z.enum(['stdout', 'stderr']).optional(),
});

export const TestBeginEvent = z.object({
  type: z.literal('test-begin'),
  testId: TestId,
  title: z.string().min(1).max(2000),
  file: z.string().max(1000),
  timestamp: Timestamp,
  seq: Seq,
  retry: Retry,
});

export const TestEndEvent = z.object({
  type: z.literal('test-end'),
  testId: TestId,
  status: z.enum(['passed', 'failed', 'skipped', 'timedOut', 'interrupted']),
  duration: z
    .number()
    .int()
    .nonnegative()
    .max(7 * 24 * 3600 * 1000),
  error: z.string().max(20_000).optional(),
  timestamp: Timestamp,
  seq: Seq,
  retry: Retry,
  /** additive: enough to store the result without its test-begin. */
  title: z.string().min(1).max(2000).optional(),
  file: z.string().max(1000).optional(),
  suite: z.string().max(2000).optional(),
  /** additive: the first error's stack and `file:line:column`. */
  errorStack: z.string().max(50_000).optional(),
  errorLocation: z.string().max(1000).optional(),
  attachments: z.array(AttachmentRef).max(50).optional(),
  startedAt: Timestamp.optional(),
});
export type TestEndEvent = z.infer<typeof TestEndEvent>;

export const StatusEvent = z.object({
  type: z.literal('status'),
  status: z.enum(['RUNNING', 'ANALYZING']),
  timestamp: Timestamp,
  seq: Seq,
});

export const IngestEvent = z.discriminatedUnion('type', [LogEvent, TestBeginEvent, TestEndEvent, StatusEvent]);
export type IngestEvent = z.infer<typeof IngestEvent>;

export const MAX_EVENTS_PER_BATCH = 500;

export const EventBatch = z.object({
  sessionId: z.string().min(1).max(1000),
  events: z.array(IngestEvent).min(1).max(MAX_EVENTS_PER_BATCH),
  /** additive: a batch id already applied to the run is acknowledged and ignored (idempotent replay). */
  batchId: z.string().min(1).max(200).optional(),
});
export type EventBatch = z.infer<typeof EventBatch>;

export const EventResponse = z.object({ accepted: z.number().int(), duplicate: z.boolean() });
export type EventResponse = z.infer<typeof EventResponse>;

const Count = z.number().int().nonnegative().max(1_000_000);

export const TeardownBody = z.object({
  sessionId: z.string().min(1).max(1000),
  /** The seed's PASSED | FAILED; additive: TIMED_OUT (global timeout) and CANCELLED (interrupted). */
  status: z.enum(['PASSED', 'FAILED', 'TIMED_OUT', 'CANCELLED']),
  summary: z.object({
    total: Count,
    passed: Count,
    failed: Count,
    skipped: Count,
    duration: z
      .number()
      .int()
      .nonnegative()
      .max(30 * 24 * 3600 * 1000),
    /** additive: failed then passed on retry (not counted in passed or failed). */
    flaky: Count.optional(),
    /** additive: the failed tests whose last attempt timed out (a subset of failed). */
    timedOut: Count.optional(),
  }),
  /** additive: which shard is done; the execution ends when every shard has torn down. */
  shard: Shard.optional(),
  /** additive: the run's last events (as in an event batch), applied before the teardown: one request fewer at the end of a run. */
  events: z.array(IngestEvent).min(1).max(MAX_EVENTS_PER_BATCH).optional(),
  batchId: z.string().min(1).max(200).optional(),
});
export type TeardownBody = z.infer<typeof TeardownBody>;

export const TeardownResponse = z.object({ taskId: z.string(), status: z.string() });
export type TeardownResponse = z.infer<typeof TeardownResponse>;

/** Attachment upload: `POST /api/ingest/attachment?sessionId&testId&retry&name` with the raw bytes as body. */
export const AttachmentQuery = z.object({
  sessionId: z.string().min(1).max(1000),
  testId: TestId,
  retry: z.coerce.number().int().min(0).max(100).default(0),
  name: z.string().min(1).max(200),
});
export const MAX_ATTACHMENT_BYTES = 1024 * 1024 - 1024;
