// WebSocket messages to viewers: one run's room (`/api/executions/:taskId/live?since=N`) and the
// org's hub (`/api/live`). JSON text frames.
import { z } from 'zod';
import type { RunStatus as ExecutionStatus } from './vocabulary';
import type { StoredLogChunk, TestResult } from './results';

export type RoomMessage =
  /** First frame after connect: where the stored log stands. */
  | { type: 'hello'; taskId: string; lastSeq: number; status: ExecutionStatus | null; truncated: boolean }
  /** Log chunks in seq order, batched (a room sends viewers at most one batch per 20 ms). */
  | { type: 'log'; chunks: StoredLogChunk[] }
  /** Live per-test results: every attempt of each test (one result per test and retry). */
  | { type: 'tests'; results: TestResult[] }
  | { type: 'status'; status: ExecutionStatus; reason?: string | null }
  /** The stored log hit its cap; later output was dropped. */
  | { type: 'truncated'; atSeq: number }
  /**
   * This viewer fell too far behind (ViewerAck): the room sends it nothing more and closes it with
   * LIVE_RESYNC. Reconnect with since=<last seq rendered>; the stored log fills the gap.
   */
  | { type: 'resync' };

/**
 * A room viewer's only message: the last seq it has rendered. Sent at most about once a second while
 * log arrives; the room drops a viewer whose unacknowledged output passes a bound, so one slow viewer
 * cannot make the room queue without limit.
 */
export const ViewerAck = z.object({ type: z.literal('ack'), seq: z.number().int().min(0) });
export type ViewerAck = z.infer<typeof ViewerAck>;
/** How often a room viewer acknowledges while log arrives (ms). */
export const VIEWER_ACK_INTERVAL_MS = 1000;
/** Close code of a room viewer that fell behind (after a `resync` message); it reconnects with since=<last seq>. */
export const LIVE_RESYNC = 4409;

export type ExecutionSummary = {
  taskId: string;
  organizationId: string;
  projectId: string;
  status: ExecutionStatus;
  source: string;
  trigger: string;
  environment: string | null;
  image: string;
  reason: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  totalTests: number;
  passed: number;
  failed: number;
  skipped: number;
  flaky: number;
  durationMs: number | null;
  ciContext: Record<string, unknown> | null;
  /** The run's own name (the reporter's runName); null for runs without one, such as those queued here. */
  name: string | null;
};

/** A dashboard gets at most one `executions` message per this interval: a burst of status changes is coalesced. */
export const HUB_FLUSH_MS = 500;

/**
 * Shards of a large org's hub (durable-objects/OrgHub.ts), the home included. 2,000 dashboards per shard
 * keep a flush's fan-out near 20 ms (≈10 µs a send), so the 15 other shards carry ≈30,000 dashboards at
 * that cost (up to 15 × 32,768 sockets, one object's limit); forwarding costs the home ≤ 30 calls a second.
 */
export const HUB_SHARDS = 16;
/** The home shard's answer to a dashboard's upgrade once it is full: open it on the shard this header names. */
export const HUB_SHARD_HEADER = 'x-agnox-hub-shard';

export type HubMessage =
  | { type: 'hello' }
  /**
   * What changed in the org's runs since the last message (at most one every HUB_FLUSH_MS): the latest
   * summary of each run that changed (intermediate statuses within the interval are not sent), and the
   * runs deleted. A run is in at most one of the two lists.
   */
  | { type: 'executions'; updated: ExecutionSummary[]; deleted: string[] };

/**
 * What a publisher tells the org's hub (OrgHub.publish): a run's new summary, ordered by `at` (the
 * row's updatedAt: a publish that reaches the hub after a newer one for the same run is dropped), or runs deleted.
 */
export type HubUpdate = { execution: ExecutionSummary; at: number } | { deleted: string[] };

/** One hub shard's counters (OrgHub.stats), for benches and operators. */
export type HubShardStats = {
  shard: number;
  dashboards: number;
  /** Updates published to this shard (the home shard only: the others get coalesced batches). */
  updatesIn: number;
  /** Messages sent to dashboards since this object started, and over the last HUB_STATS_WINDOW_S seconds per second. */
  sends: number;
  sendsPerSecond: number;
};
/** sendsPerSecond is averaged over this many seconds. */
export const HUB_STATS_WINDOW_S = 10;

/** Whose live sockets to close: one session (logout), or all of a member's (removed, role changed). */
export type LiveHolder = { sessionId: string } | { userId: string };
/** What the org's hub needs of a WebSocket ticket to admit it (OrgHub.admitTicket): its id, expiry (s) and session. */
export type LiveTicket = { jti: string; exp: number; sid?: string };
export type TicketVerdict = 'admitted' | 'used' | 'session-ended';
/** Close code of a live socket whose session ended or whose member was removed or changed role; a new ticket reconnects if still allowed. */
export const LIVE_ACCESS_ENDED = 4401;
