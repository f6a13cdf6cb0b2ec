// The words every side shares, said once: a run's statuses and which of them are final, the streams
// of a run's log, and an image's pull policies. The worker, the Durable Objects, the agent, the
// dashboard and load/ import these; nothing spells the lists out again. (The database schema types
// its columns from here, not the other way round: contracts import no schema.)
//
// Glossary (README.md, "Words"): a *run* is one request to test something, named by its `taskId`;
// an *execution* is the same run as the API's resource (`/api/executions/:taskId`). A *job* is the
// Dispatcher's record of a run waiting for or leased to an agent; a *lease* is an agent's hold on a
// job, kept by heartbeats. An *attempt* is one try of a run by an agent (a lost lease requeues the
// job as the next attempt). A *session* is either a person's sign-in or a reporter's ingest session.
import { z } from 'zod';

/** A run's status, in the order a run goes through them. */
export const RunStatus = z.enum(['PENDING', 'RUNNING', 'ANALYZING', 'PASSED', 'FAILED', 'ERROR', 'CANCELLED', 'TIMED_OUT']);
export type RunStatus = z.infer<typeof RunStatus>;

/** The statuses a run ends in: nothing changes a run after one of these (but its deletion). */
export const FinalStatus = RunStatus.extract(['PASSED', 'FAILED', 'ERROR', 'CANCELLED', 'TIMED_OUT']);
export type FinalStatus = z.infer<typeof FinalStatus>;

/** Statuses of a run not yet ended: queued, running, or ended with its AI analysis still to come. */
export const ActiveStatus = RunStatus.extract(['PENDING', 'RUNNING', 'ANALYZING']);
export type ActiveStatus = z.infer<typeof ActiveStatus>;

// Copies, typed as plain arrays because drizzle's `inArray` takes no readonly ones.
export const FINAL_STATUSES: FinalStatus[] = [...FinalStatus.options];
export const ACTIVE_STATUSES: ActiveStatus[] = [...ActiveStatus.options];

export const isFinal = (status: string | null | undefined): status is FinalStatus => FINAL_STATUSES.includes(status as FinalStatus);
export const isActive = (status: string | null | undefined): status is ActiveStatus => ACTIVE_STATUSES.includes(status as ActiveStatus);

/** Where a line of a run's log came from: the container's two streams, or Agnox itself. */
export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export type LogStream = z.infer<typeof LogStream>;

/** When the agent pulls a run's image: every time, only when missing, or never (local images). */
export const PullPolicy = z.enum(['always', 'if-not-present', 'never']);
export type PullPolicy = z.infer<typeof PullPolicy>;
