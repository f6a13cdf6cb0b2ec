// External CI runs (seed 004): setup creates the execution, its test cycle and item, and the
// session; events go straight to the execution's room (no D1 write per event); teardown writes
// the results and the summary to D1 and ends the run; a cron job cancels runs that went silent.
// Log lines and results are masked with the project's secrets on the way in, and again at teardown.
//
// Ids are derived from (organization, project, runId), and every write is conditional, so that a
// repeated setup joins the same run (shards of one CI build, a spool replayed later) and a
// repeated teardown changes nothing.
//
// Once the run has ended (teardown, or the orphan sweep) its room refuses events (409 RUN_ENDED);
// once it is deleted, events and a setup with the same runId are refused (410 RUN_DELETED): the
// run's ids are derived from the runId, so a deleted run's runId is not reused.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { EventBatch, IngestEvent, SetupBody, TeardownBody } from '../contracts/ingest';
import type { TestResult } from '../contracts/results';
import { executions, ingestSessions, projects, testCycleItems, testCycles } from '../db/schema';
import type { Env } from '../env';
import { sha256Hex } from '../lib/crypto';
import { ApiError, notFound } from '../lib/errors';
import type { SecretMasker } from '../lib/secret-masker';
import { foldRunStatements } from './test-aggregates';
import { publishExecution, roomRefused } from './executions';
import { roomOf, type Db } from '../bindings';
import { isFinal } from '../contracts/vocabulary';
import { liveProjectSecretMasker, projectSecretMasker } from './secrets';
import { changeStatus, endRun } from '../runs/lifecycle';
import { SESSION_TTL_MS, signSession, verifySession, type SessionClaims } from './ingest-session';

type Line = { stream: 'stdout' | 'stderr' | 'system'; data: string; ts: number };
type ShardResult = { status: TeardownBody['status']; summary: TeardownBody['summary'] };
export type IngestMeta = {
  sessionId: string;
  reporterVersion: string;
  framework: string;
  totalTests: number;
  runId: string;
  runName: string;
  ciContext?: SetupBody['ciContext'];
  shards?: { total: number; done: Record<string, ShardResult> };
  /** What the (last) teardown said: a repeated teardown answers it again. */
  teardown?: ShardResult;
};

export const DEFAULT_ORPHAN_HOURS = 24;
/** lastEventAt is refreshed at most this often per session (and isolate): enough for hour-scale orphan detection. */
const HEARTBEAT_EVERY_MS = 60_000;

export const sessionNotFound = () => new ApiError(404, 'SESSION_NOT_FOUND', 'Session not found or expired');

/** The deterministic ids of a run. */
async function runIds(organizationId: string, projectId: string, runId: string) {
  const h = await sha256Hex(`${organizationId}\n${projectId}\n${runId}`);
  return { sid: `ing_${h.slice(0, 32)}`, taskId: `ingest-${h.slice(0, 24)}`, cycleId: `cyc_${h.slice(0, 24)}`, cycleItemId: `cyi_${h.slice(0, 24)}` };
}

export async function setupRun(env: Env, db: Db, caller: { organizationId: string; apiKeyId: string }, body: SetupBody) {
  const { organizationId } = caller;
  const [project] = await db
    .select({ id: projects.id, name: projects.name })
    .from(projects)
    .where(and(eq(projects.id, body.projectId), eq(projects.organizationId, organizationId)))
    .limit(1);
  if (!project) throw notFound('Project');
  const runId = body.runId ?? crypto.randomUUID();
  const ids = await runIds(organizationId, project.id, runId);
  const now = Date.now();
  const [[existing], room] = await Promise.all([
    db
      .select()
      .from(ingestSessions)
      .where(and(eq(ingestSessions.id, ids.sid), eq(ingestSessions.organizationId, organizationId)))
      .limit(1),
    roomOf(env, ids.taskId).info(),
  ]);
  // A deleted run's room keeps a tombstone: its runId does not start a run with the same ids again.
  if (room.closed === 'RUN_DELETED') throw roomRefused(room.closed);
  let created = false;
  if (!existing) {
    const name = body.runName ?? `External CI — ${new Date(now).toISOString()}`;
    const ingestMeta: IngestMeta = {
      sessionId: ids.sid,
      reporterVersion: body.reporterVersion,
      framework: body.framework,
      totalTests: body.totalTests,
      runId,
      runName: name,
      ...(body.ciContext ? { ciContext: body.ciContext } : {}),
      ...(body.shard ? { shards: { total: body.shard.total, done: {} } } : {}),
    };
    const results = await db.batch([
      db
        .insert(executions)
        .values({
          taskId: ids.taskId,
          organizationId,
          projectId: project.id,
          status: 'RUNNING',
          source: 'external-ci',
          trigger: 'ingest',
          environment: body.environment ?? null,
          image: 'external-ci',
          ingestMeta,
          ciContext: body.ciContext ?? null,
          totalTests: body.totalTests,
          cycleId: ids.cycleId,
          cycleItemId: ids.cycleItemId,
          triggeredBy: `api-key:${caller.apiKeyId}`,
          createdAt: now,
          startedAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
        .returning({ taskId: executions.taskId }),
      db
        .insert(testCycles)
        .values({
          id: ids.cycleId,
          organizationId,
          projectId: project.id,
          name,
          status: 'RUNNING',
          source: 'external-ci',
          taskId: ids.taskId,
          summary: { total: body.totalTests, passed: 0, failed: 0, blocked: 0, skipped: 0, pending: body.totalTests },
          createdBy: `api-key:${caller.apiKeyId}`,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing(),
      db
        .insert(testCycleItems)
        .values({
          id: ids.cycleItemId,
          organizationId,
          cycleId: ids.cycleId,
          type: 'automated',
          title: name,
          status: 'RUNNING',
          taskId: ids.taskId,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing(),
      db
        .insert(ingestSessions)
        .values({
          id: ids.sid,
          organizationId,
          projectId: project.id,
          taskId: ids.taskId,
          cycleId: ids.cycleId,
          cycleItemId: ids.cycleItemId,
          apiKeyId: caller.apiKeyId,
          runKey: runId,
          status: 'active',
          lastEventAt: now,
          createdAt: now,
        })
        .onConflictDoNothing(),
    ]);
    created = results[0].length > 0;
    if (created) {
      const ci = body.ciContext;
      const where = ci && ci.source !== 'local' ? ` from ${ci.source}${ci.repository ? ` ${ci.repository}` : ''}${ci.branch ? ` (${ci.branch})` : ''}` : '';
      await roomOf(env, ids.taskId).init({
        taskId: ids.taskId,
        organizationId,
        status: 'RUNNING',
        lines: [{ stream: 'system', data: `[agnox] external ${body.framework} run${where}: ${body.totalTests} tests\n`, ts: now }],
      });
      const [row] = await db.select().from(executions).where(eq(executions.taskId, ids.taskId)).limit(1);
      if (row) publishExecution(env, row);
    }
  }
  const sessionId = await signSession(env, { sid: ids.sid, taskId: ids.taskId, organizationId, projectId: project.id, exp: now + SESSION_TTL_MS });
  return { created, data: { sessionId, taskId: ids.taskId, cycleId: ids.cycleId } };
}

/** The caller's session, from the signed id alone; another org's session is "not found". */
export async function resolveSession(env: Env, organizationId: string, sessionId: string): Promise<SessionClaims> {
  const claims = await verifySession(env, sessionId);
  if (!claims || claims.organizationId !== organizationId) throw sessionNotFound();
  return claims;
}

const MARK: Record<string, string> = { passed: '✓', failed: '✘', timedOut: '✘', skipped: '-', interrupted: '!' };

/** Consecutive output of one stream is stored as one chunk (as an agent's chunks hold many lines): far fewer room rows. */
const MAX_MERGED_CHARS = 64 * 1024;
function pushLine(lines: Line[], line: Line) {
  const last = lines.at(-1);
  if (last && last.stream === line.stream && last.data.length + line.data.length <= MAX_MERGED_CHARS) last.data += line.data;
  else lines.push({ ...line });
}

/** One room write per batch: log lines (with a line per finished test), live results, status; secrets masked in lines and results. */
export function toRoomBatch(events: IngestEvent[], masker: SecretMasker): { lines: Line[]; tests: TestResult[]; status?: 'RUNNING' | 'ANALYZING' } {
  const lines: Line[] = [];
  const tests: TestResult[] = [];
  let status: 'RUNNING' | 'ANALYZING' | undefined;
  for (const e of events) {
    if (e.type === 'log') pushLine(lines, { stream: e.stream ?? 'stdout', data: masker.mask(e.chunk), ts: e.timestamp });
    else if (e.type === 'test-end') {
      const retry = e.retry ?? 0;
      const result = masker.maskTestResult({
        testId: e.testId,
        title: e.title ?? e.testId,
        status: e.status,
        durationMs: e.duration,
        retry,
        ...(e.file !== undefined ? { file: e.file } : {}),
        ...(e.suite ? { suite: e.suite } : {}),
        ...(e.error !== undefined || e.errorStack
          ? { error: { message: e.error ?? '', ...(e.errorStack ? { stack: e.errorStack } : {}), ...(e.errorLocation ? { location: e.errorLocation } : {}) } }
          : {}),
        ...(e.attachments?.length ? { attachments: e.attachments } : {}),
        ...(e.startedAt !== undefined ? { startedAt: e.startedAt } : {}),
      });
      tests.push(result);
      pushLine(lines, {
        stream: 'system',
        data: `  ${MARK[e.status] ?? '?'} ${result.file ? `${result.file} › ` : ''}${result.title}${retry ? ` (retry #${retry})` : ''} (${e.duration}ms)\n`,
        ts: e.timestamp,
      });
    } else if (e.type === 'status') status = e.status;
    // test-begin has no storage of its own: the result arrives with test-end.
  }
  return { lines, tests, status };
}

const heartbeats = new Map<string, number>();

export async function applyEvents(env: Env, db: Db, claims: SessionClaims, batch: EventBatch, waitUntil: (p: Promise<unknown>) => void) {
  // The reporter does not know the project's secrets: the Worker masks them in each log line and result.
  const masker = await liveProjectSecretMasker(db, claims.organizationId, claims.projectId);
  const { lines, tests, status } = toRoomBatch(batch.events, masker);
  const room = roomOf(env, claims.taskId);
  // No D1 read here: the room knows whether the run has ended or was deleted, and refuses the batch then.
  const result = await room.apply({
    from: 'reporter',
    ...(batch.batchId ? { batchId: `ingest:${batch.batchId}` } : {}),
    ...(lines.length ? { lines } : {}),
    ...(tests.length ? { tests } : {}),
  });
  if (result.refused) throw roomRefused(result.refused);
  const now = Date.now();
  if (!result.duplicate && status === 'ANALYZING') {
    // Rare (a handful per run): worth a D1 write so that the live list shows it. Only forward: an ingest
    // run starts RUNNING, so a RUNNING event changes nothing, and nothing moves an ANALYZING or ended run back.
    await changeStatus(env, claims.taskId, status, { from: ['RUNNING'] });
  }
  if ((heartbeats.get(claims.sid) ?? 0) + HEARTBEAT_EVERY_MS < now) {
    heartbeats.set(claims.sid, now);
    if (heartbeats.size > 10_000) heartbeats.clear();
    waitUntil(
      db
        .update(ingestSessions)
        .set({ lastEventAt: now })
        .where(eq(ingestSessions.id, claims.sid))
        .run()
        .catch(() => {}),
    );
  }
  return { accepted: result.duplicate ? 0 : batch.events.length, duplicate: result.duplicate };
}

const ORDER: TeardownBody['status'][] = ['PASSED', 'CANCELLED', 'TIMED_OUT', 'FAILED'];

/** Ends the room's intake (no event is taken after this) and returns the results it holds. */
async function endIntake(env: Env, taskId: string) {
  const { closed, tests } = await roomOf(env, taskId).end();
  if (closed === 'RUN_DELETED') throw roomRefused(closed);
  return tests;
}

export async function teardownRun(env: Env, db: Db, claims: SessionClaims, body: Omit<TeardownBody, 'sessionId'>) {
  // A teardown without shards ends the run (or finds it ended): its room stops taking events and hands
  // over its results in the same round trip as the D1 reads. A shard's teardown may not be the last one.
  const sharded = !!body.shard && body.shard.total > 1;
  const [[[session], [exec]], unshardedTests, masker] = await Promise.all([
    db.batch([
      db
        .select()
        .from(ingestSessions)
        .where(and(eq(ingestSessions.id, claims.sid), eq(ingestSessions.organizationId, claims.organizationId)))
        .limit(1),
      db
        .select()
        .from(executions)
        .where(and(eq(executions.taskId, claims.taskId), eq(executions.organizationId, claims.organizationId)))
        .limit(1),
    ]),
    sharded ? undefined : endIntake(env, claims.taskId),
    // Afresh, not the live masker: a secret added during the run is masked in the stored results.
    projectSecretMasker(db, claims.organizationId, claims.projectId),
  ]);
  if (!session || !exec) throw sessionNotFound();
  const meta = (exec.ingestMeta ?? {}) as IngestMeta;
  if (session.status === 'completed' && meta.teardown) {
    // Idempotent: a finished run answers what it answered the first time. If the first teardown
    // stopped between its D1 batch and the status change, this one completes it.
    if (!isFinal(exec.status) && exec.status !== 'ANALYZING') await endReportedRun(env, exec.taskId, meta.teardown.status, meta.teardown.summary);
    return { taskId: exec.taskId, status: meta.teardown.status };
  }

  let status = body.status;
  let summary = body.summary;
  let tests = unshardedTests ?? [];
  const now = Date.now();
  if (body.shard && body.shard.total > 1) {
    const shards = {
      total: body.shard.total,
      done: { ...(meta.shards?.done ?? {}), [String(body.shard.current)]: { status: body.status, summary: body.summary } },
    };
    const done = Object.values(shards.done);
    if (done.length < shards.total) {
      // Not the last shard: remember its part; the run goes on.
      await db
        .update(executions)
        .set({ ingestMeta: { ...meta, shards }, updatedAt: now })
        .where(eq(executions.taskId, exec.taskId));
      await db.update(ingestSessions).set({ lastEventAt: now }).where(eq(ingestSessions.id, session.id));
      return { taskId: exec.taskId, status: exec.status };
    }
    meta.shards = shards;
    tests = await endIntake(env, exec.taskId);
    status = done.reduce((worst, s) => (ORDER.indexOf(s.status) > ORDER.indexOf(worst) ? s.status : worst), 'PASSED' as TeardownBody['status']);
    summary = done.reduce(
      (sum, s) => ({
        total: sum.total + s.summary.total,
        passed: sum.passed + s.summary.passed,
        failed: sum.failed + s.summary.failed,
        skipped: sum.skipped + s.summary.skipped,
        flaky: (sum.flaky ?? 0) + (s.summary.flaky ?? 0),
        timedOut: (sum.timedOut ?? 0) + (s.summary.timedOut ?? 0),
        duration: Math.max(sum.duration, s.summary.duration),
      }),
      { total: 0, passed: 0, failed: 0, skipped: 0, flaky: 0, timedOut: 0, duration: 0 },
    );
  }
  meta.teardown = { status, summary };

  // One atomic batch: results (in statements under D1's 100-parameter limit), what the teardown
  // said, the session, the cycle and its item. The final status follows through endRun
  // (runs/lifecycle.ts, which also starts the AI analysis of a failed run and tells Slack), after the results are in D1.
  // The results, masked afresh, replace the room's (a control-plane write: the ended room takes it); the room
  // is where they are read from and archived from at the run's end.
  const masked = tests.map((t) => masker.maskTestResult(t));
  if (masked.length) await roomOf(env, exec.taskId).apply({ tests: masked });
  await db.batch([
    ...foldRunStatements(db, exec, masked),
    db.update(executions).set({ ingestMeta: meta, updatedAt: now }).where(eq(executions.taskId, exec.taskId)),
    db.update(ingestSessions).set({ status: 'completed', closedAt: now, lastEventAt: now }).where(eq(ingestSessions.id, session.id)),
    db
      .update(testCycles)
      .set({
        status: 'COMPLETED',
        updatedAt: now,
        summary: {
          total: summary.total,
          passed: summary.passed + (summary.flaky ?? 0),
          failed: summary.failed,
          blocked: 0,
          skipped: summary.skipped,
          pending: 0,
        },
      })
      .where(eq(testCycles.id, session.cycleId ?? '')),
    db
      .update(testCycleItems)
      .set({ status, updatedAt: now })
      .where(eq(testCycleItems.id, session.cycleItemId ?? '')),
  ] as unknown as Parameters<typeof db.batch>[0]);
  await endReportedRun(env, exec.taskId, status, summary);
  return { taskId: exec.taskId, status };
}

async function endReportedRun(env: Env, taskId: string, status: TeardownBody['status'], summary: TeardownBody['summary']) {
  await endRun(env, taskId, status, {
    // CANCELLED too: a run the orphan sweep gave up on is completed by a late teardown.
    from: ['PENDING', 'RUNNING', 'ANALYZING', 'CANCELLED'],
    patch: {
      totalTests: summary.total,
      passed: summary.passed,
      failed: summary.failed,
      skipped: summary.skipped,
      flaky: summary.flaky ?? 0,
      timedOut: summary.timedOut ?? 0,
      durationMs: summary.duration,
      reason: null,
    },
    note: `run finished ${status}: ${summary.passed} passed, ${summary.failed} failed, ${summary.flaky ?? 0} flaky, ${summary.skipped} skipped (${(summary.duration / 1000).toFixed(1)} s)`,
  });
}

/** Attachments live next to the run's other artifacts: `<org>/<taskId>/attachments/…` in R2. */
export function attachmentPath(testId: string, retry: number, name: string) {
  const safe = (s: string) => s.replace(/[^\w.-]+/g, '_').slice(0, 120) || '_';
  return `attachments/${safe(testId)}/${retry}/${safe(name)}`;
}

/**
 * Cron: external-ci runs still RUNNING with no event for `hours` are CANCELLED (the CI job was
 * killed before teardown). A late teardown can still complete them.
 */
export async function cancelOrphanedRuns(env: Env, db: Db, hours: number, now = Date.now()): Promise<string[]> {
  const cutoff = now - hours * 3600 * 1000;
  const stale = await db
    .select({ id: ingestSessions.id, taskId: ingestSessions.taskId, cycleId: ingestSessions.cycleId, cycleItemId: ingestSessions.cycleItemId })
    .from(ingestSessions)
    .where(and(eq(ingestSessions.status, 'active'), lt(sql`coalesce(${ingestSessions.lastEventAt}, ${ingestSessions.createdAt})`, cutoff)))
    .limit(100);
  const cancelled: string[] = [];
  const reason = `orphaned: no event for ${hours} h (the CI job ended without teardown)`;
  for (const s of stale) {
    const row = await endRun(env, s.taskId, 'CANCELLED', { from: ['PENDING', 'RUNNING', 'ANALYZING'], patch: { reason }, note: reason });
    await db.batch([
      db
        .update(ingestSessions)
        .set({ status: 'cancelled', closedAt: now })
        .where(and(eq(ingestSessions.id, s.id), eq(ingestSessions.status, 'active'))),
      db
        .update(testCycles)
        .set({ status: 'COMPLETED', updatedAt: now })
        .where(eq(testCycles.id, s.cycleId ?? '')),
      db
        .update(testCycleItems)
        .set({ status: 'CANCELLED', updatedAt: now })
        .where(eq(testCycleItems.id, s.cycleItemId ?? '')),
    ]);
    if (row) cancelled.push(s.taskId);
  }
  return cancelled;
}

export const orphanHours = (env: Env) => {
  const n = Number(env.INGEST_ORPHAN_HOURS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_ORPHAN_HOURS;
};
