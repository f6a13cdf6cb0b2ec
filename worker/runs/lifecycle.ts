// A run's life, in one module: nothing else changes a run's status.
//
//   created PENDING (an agent's run: create.ts) or RUNNING (a reporter's run: services/ingest.ts)
//   PENDING ⇄ RUNNING            changeStatus: an agent takes the job; a lost lease puts it back
//   RUNNING → ANALYZING           endRun of a FAILED or ERROR run with AI analysis on (the run is over;
//                                 its analysis gives it its final status afterwards)
//   any active status → final     endRun: PASSED, FAILED, ERROR, CANCELLED, TIMED_OUT
//
// Every change is guarded by `from` (the statuses the run may be in), so two racing ends (a cancel and
// the agent's complete) end a run once. Every final status, however it comes (the agent's complete, a
// reporter's teardown, a cancel, a lost agent, a timeout, the queue refusing the job, an analysis
// concluding), takes the same END_STEPS.
import { waitUntil } from 'cloudflare:workers';
import { and, eq, inArray } from 'drizzle-orm';
import type { AnalysisRecord } from '../contracts/analysis';
import { isFinal, type ActiveStatus, type FinalStatus, type RunStatus } from '../contracts/vocabulary';
import { dbOf, roomOf } from '../bindings';
import { executions, organizations } from '../db/schema';
import type { Env } from '../env';
import { abandonedAnalyses, analysisNote, analysisSkipReason, analyze } from '../services/analysis';
import { onRunFinished } from '../services/cycles';
import { publishExecution, type ExecutionRow } from '../services/executions';
import { failuresAllQuarantined } from '../services/quarantine';
import { archiveRunResults } from '../services/run-results';
import { notifyRunEnded } from '../services/slack';

/** `from`: the statuses the run must be in for the change to happen; `note`: a line for the run's log. */
export type StatusChange = { from: RunStatus[]; patch?: Partial<ExecutionRow>; note?: string };

/**
 * What every run does once its status is final, in this order: its room stops taking data and tells
 * its viewers (and learns how long to keep the log), its results are archived to R2, the dashboards' live list shows it, a test
 * cycle's automated item takes its status, and Slack hears of it (in the background: a slow webhook
 * holds nothing back).
 */
/** What the end steps need of the org, read with the final status's write (one round trip, not one per step). */
type EndContext = { retentionDays?: number; slackWebhookUrl: string | null; note?: string };

const END_STEPS: ReadonlyArray<{
  step: string;
  run: (env: Env, row: ExecutionRow, ctx: EndContext) => Promise<unknown>;
  background?: true;
}> = [
  {
    step: 'close the room',
    run: (env, row, ctx) =>
      roomOf(env, row.taskId).finish({ status: row.status, reason: row.reason, retentionDays: ctx.retentionDays, lines: logLines(ctx.note) }),
  },
  // The room's results, once, to R2 (services/run-results.ts): the durable copy once the room is purged.
  // A failed write is logged, not thrown: the room still serves the results until its retention.
  {
    step: 'archive the results',
    run: (env, row) => archiveRunResults(env, row).catch((err) => console.error("archiving a run's results failed", row.taskId, String(err))),
  },
  { step: 'update the live list', run: async (env, row) => publishExecution(env, row) }, // in the background: services/executions.ts
  { step: 'settle the test cycle item', run: (env, row) => onRunFinished(env, row) },
  { step: 'notify Slack', run: (env, row, ctx) => notifyRunEnded(env, row, ctx.slackWebhookUrl), background: true },
];

/**
 * Moves a run to another active status. (A reporter may say ANALYZING itself and go on sending; the
 * ANALYZING of an ended run's AI analysis is endRun's.) Returns the row, or undefined when `from` did not match.
 */
export async function changeStatus(env: Env, taskId: string, status: ActiveStatus, change: StatusChange): Promise<ExecutionRow | undefined> {
  const row = await writeStatus(env, taskId, status, change);
  if (row) {
    publishExecution(env, row);
    await roomOf(env, taskId).apply({ lines: logLines(change.note), status: { status, reason: row.reason } });
  }
  return row;
}

/**
 * Ends a run. A FAILED run whose every failing test is quarantined ends PASSED. A FAILED or ERROR
 * run goes to ANALYZING when the org's AI analysis is on and `analyze` is not false (nothing ran, so
 * nothing to analyse, when the queue refused the job); the analysis then ends it with `status`.
 * Returns the row, or undefined when `from` did not match (the run had ended already).
 */
export async function endRun(env: Env, taskId: string, status: FinalStatus, change: StatusChange & { analyze?: boolean }): Promise<ExecutionRow | undefined> {
  let final = status;
  let patch = change.patch ?? {};
  let note = change.note;
  if (status === 'FAILED' || status === 'ERROR') {
    const [run] = await dbOf(env)
      .select({ organizationId: executions.organizationId, projectId: executions.projectId })
      .from(executions)
      .where(eq(executions.taskId, taskId))
      .limit(1);
    if (!run) return undefined;
    const quarantined = status === 'FAILED' ? await failuresAllQuarantined(env, { taskId, ...run }) : null;
    if (quarantined) {
      final = 'PASSED';
      note = joinNotes(note, `${quarantined.length} failing test(s) are quarantined, so the run passes: ${quarantined.slice(0, 5).join('; ')}`);
    } else if (change.analyze !== false) {
      const skip = await analysisSkipReason(env, run.organizationId);
      if (!skip) return startAnalysis(env, taskId, status, { ...change, patch, note });
      patch = { ...patch, analysis: { status: 'skipped', code: skip.code, error: skip.error, at: Date.now() } satisfies AnalysisRecord };
    }
  }
  return settle(env, taskId, final, { from: change.from, patch, note });
}

/** An ANALYZING run's analysis (in the background), then the final status it ended with. Never throws. */
export async function analyzeAndEnd(env: Env, taskId: string): Promise<void> {
  const [row] = await dbOf(env).select().from(executions).where(eq(executions.taskId, taskId)).limit(1);
  const pending = row?.analysis as AnalysisRecord | null;
  if (row?.status !== 'ANALYZING' || pending?.status !== 'pending') return;
  await concludeAnalysis(env, row, await analyze(env, row, pending));
}

/** Cron: runs left ANALYZING past the deadline end with a failed analysis, so no run stays there. */
export async function sweepAbandonedAnalyses(env: Env, now = Date.now()): Promise<number> {
  const abandoned = await abandonedAnalyses(env, now);
  for (const { row, record } of abandoned) await concludeAnalysis(env, row, record);
  return abandoned.length;
}

/** The end of an ANALYZING run: its analysis is stored and it takes the final status it ended with. */
const concludeAnalysis = (env: Env, row: ExecutionRow, analysis: AnalysisRecord) =>
  settle(env, row.taskId, analysis.finalStatus ?? 'FAILED', { from: ['ANALYZING'], patch: { analysis }, note: analysisNote(analysis) });

/** ANALYZING: the room stops taking agent and reporter data now, not when the analysis ends. */
async function startAnalysis(env: Env, taskId: string, status: 'FAILED' | 'ERROR', change: StatusChange): Promise<ExecutionRow | undefined> {
  const pending: AnalysisRecord = { status: 'pending', finalStatus: status, requestedAt: Date.now() };
  const note = joinNotes(change.note, `run ${status}: asking AI for the root cause…`);
  const row = await writeStatus(env, taskId, 'ANALYZING', { from: change.from, patch: { ...change.patch, analysis: pending } });
  if (!row) return undefined;
  publishExecution(env, row);
  await roomOf(env, taskId).apply({ lines: logLines(note), status: { status: 'ANALYZING', reason: row.reason }, ends: true });
  inBackground(analyzeAndEnd(env, taskId));
  return row;
}

/** The final status, then END_STEPS. */
async function settle(env: Env, taskId: string, status: FinalStatus, change: StatusChange): Promise<ExecutionRow | undefined> {
  // The org's retention (for the room) and Slack webhook are read alongside the guarded update: one round trip.
  const [row, [org]] = await Promise.all([
    writeStatus(env, taskId, status, change),
    dbOf(env)
      .select({ limits: organizations.limits, slackWebhookUrl: organizations.slackWebhookUrl })
      .from(organizations)
      .innerJoin(executions, eq(executions.organizationId, organizations.id))
      .where(eq(executions.taskId, taskId))
      .limit(1),
  ]);
  if (!row) return undefined;
  const ctx: EndContext = { retentionDays: org?.limits.retentionDays, slackWebhookUrl: org?.slackWebhookUrl ?? null, note: change.note };
  const [first, ...rest] = END_STEPS;
  await first!.run(env, row, ctx); // the room first: nothing is told of an end the room has not taken
  await Promise.all(rest.map((s) => (s.background ? inBackground(s.run(env, row, ctx)) : s.run(env, row, ctx))));
  return row;
}

/** The guarded D1 write of a status, with its timestamps. */
async function writeStatus(env: Env, taskId: string, status: RunStatus, change: StatusChange): Promise<ExecutionRow | undefined> {
  const now = Date.now();
  const [row] = await dbOf(env)
    .update(executions)
    .set({ ...change.patch, status, updatedAt: now, ...(isFinal(status) ? { finishedAt: now } : {}), ...(status === 'RUNNING' ? { startedAt: now } : {}) })
    .where(and(eq(executions.taskId, taskId), inArray(executions.status, change.from)))
    .returning();
  return row;
}

const logLines = (note: string | undefined) => (note ? [{ stream: 'system' as const, data: `[agnox] ${note}\n`, ts: Date.now() }] : undefined);
const joinNotes = (...notes: Array<string | undefined>) => notes.filter(Boolean).join('; ');

/** Keeps background work alive past the response where the runtime allows it (Worker requests, DOs). */
function inBackground(work: Promise<unknown>) {
  const guarded = work.catch((err) => console.warn('background work after a run ended failed', String(err)));
  try {
    waitUntil(guarded);
  } catch {
    // Outside a request context the promise simply runs; the cron sweep covers an interrupted analysis.
  }
}
