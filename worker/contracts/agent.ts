// The agent protocol: what `@agnox/agent` and the control plane say to each other.
// Auth: the registration token once (register), then `Authorization: Bearer <agentToken>` on every call.
import { z } from 'zod';
import { LabelMap, VariableMap } from './common';
import { Attachment, LogChunk, TestResult } from './results';
import { FinalStatus, PullPolicy } from './vocabulary';

export { FinalStatus };

/**
 * Lease timing: a job is the agent's while it heartbeats; a lease that lapses puts the job back. The
 * lease outlasts a 30 s network cut with heartbeats every 10 s (`npm run faults -- network-cut`);
 * an agent that restarts gives its old jobs back at once (its first poll no longer lists them).
 */
export const LEASE_TTL_MS = 60_000;
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** How long the control plane holds a poll open before answering 204. */
export const POLL_WAIT_MS = 25_000;
/** Times a job is handed out again after its agent was lost, before the run ends ERROR agent_lost. */
export const MAX_JOB_ATTEMPTS = 3;
/** After a run's timeout the agent is asked to stop; if it still has not reported this much later, the run ends anyway. */
export const TIMEOUT_GRACE_MS = 2 * 60 * 1000;
/** Default cap on a run's stored log in its room (LOG_MAX_BYTES overrides); agents stop forwarding output just below it. */
export const DEFAULT_LOG_MAX_BYTES = 20 * 1024 * 1024;

export const RegisterBody = z.object({
  token: z.string().min(10).max(200),
  name: z.string().trim().min(1).max(100),
  labels: LabelMap.default({}),
  arch: z.string().min(1).max(20),
  os: z.string().min(1).max(20),
  version: z.string().min(1).max(40),
  concurrency: z.number().int().min(1).max(64).default(1),
});
export type RegisterBody = z.input<typeof RegisterBody>;
export const RegisterResponse = z.object({ agentId: z.string(), agentToken: z.string(), queue: z.string(), labels: z.record(z.string(), z.string()) });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

export const PollBody = z.object({
  /** Free slots: how many more jobs this agent can take now. 0 makes the poll a pure presence ping. */
  capacity: z.number().int().min(0).max(64),
  /** taskIds this agent is running now. When sent, jobs leased to it that are not listed go back to the queue at once. */
  running: z.array(z.string().max(100)).max(64).optional(),
  /** Optional shorter hold, for tests and shutdown (ms). */
  waitMs: z.number().int().min(0).max(POLL_WAIT_MS).optional(),
  /** Why the agent cannot run jobs now (e.g. its Docker engine does not answer); absent when it can. */
  healthProblem: z.string().min(1).max(500).optional(),
});
export type PollBody = z.input<typeof PollBody>;

/** A leased job. Secret values are present only in the answer to the agent that holds the lease. */
export const Job = z.object({
  taskId: z.string(),
  projectId: z.string(),
  image: z.string(),
  command: z.string().nullable(),
  tests: z.array(z.string()),
  testFolder: z.string().nullable(),
  environment: z.string().nullable(),
  baseUrl: z.string().nullable(),
  envVars: VariableMap,
  secretVars: VariableMap,
  labels: z.record(z.string(), z.string()),
  timeoutSeconds: z.number().int(),
  attempt: z.number().int(),
  leaseExpiresAt: z.number().int(),
  /** Docker pull policy for this job's image. */
  pullPolicy: PullPolicy.default('if-not-present'),
  /** Folder inside the container from which reports are copied out after the run. */
  reportDir: z.string().default('/reports'),
});
export type Job = z.infer<typeof Job>;
export const PollResponse = z.object({ job: Job });

export const HeartbeatBody = z.object({ lastSeq: z.number().int().min(0).optional() });
export const HeartbeatResponse = z.object({
  cancel: z.boolean(),
  reason: z.enum(['cancel', 'timeout']).optional(),
  leaseExpiresAt: z.number().int(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/** Agent → room, over the WebSocket `/api/agent/jobs/:taskId/stream` or POST `/api/agent/jobs/:taskId/logs`. */
export const AgentLogFrame = z.object({ type: z.literal('chunks'), chunks: z.array(LogChunk).min(1).max(1000) });
export type AgentLogFrame = z.infer<typeof AgentLogFrame>;
/** Room → agent: every seq ≤ `upTo` is stored (contiguous from 1). Resend anything after it. */
export const LogAck = z.object({ type: z.literal('ack'), upTo: z.number().int().min(0) });
export type LogAck = z.infer<typeof LogAck>;

export const EndReason = z.enum(['exit', 'cancel', 'timeout', 'agent_stop', 'agent_lost', 'docker_error', 'refused']);

export const CompleteBody = z.object({
  status: FinalStatus,
  exitCode: z.number().int().nullable(),
  reason: EndReason.optional(),
  /** One line a human reads: "exit code 1", "image not found: …". */
  message: z.string().max(2000).optional(),
  durationMs: z.number().int().nonnegative().optional(),
  /** The last log seq the agent sent: the room checks the stored log is complete. */
  lastSeq: z.number().int().min(0).optional(),
  tests: z.array(TestResult).max(10_000).default([]),
  reports: z.array(Attachment).max(500).default([]),
});
export type CompleteBody = z.input<typeof CompleteBody>;

const MAX_ARTIFACT_PATH_BYTES = 900;

/** Upload of one report file: PUT /api/agent/jobs/:taskId/artifacts?path=<relative path> with the raw bytes. */
export const ArtifactPathQuery = z.object({
  path: z
    .string()
    .min(1)
    .max(500)
    .refine((p) => !p.split('/').some((s) => s === '..' || s === '') && !p.startsWith('/'), 'must be a relative path without ".."')
    // R2 keys hold at most 1024 bytes, and the key is `<org>/<taskId>/<path>`.
    .refine((p) => new TextEncoder().encode(p).length <= MAX_ARTIFACT_PATH_BYTES, `must be at most ${MAX_ARTIFACT_PATH_BYTES} bytes (UTF-8)`),
});
export const MAX_ARTIFACT_BYTES = 50 * 1024 * 1024;
