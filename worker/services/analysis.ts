// AI root-cause analysis of a failed run: whether the org's analysis is on, the evidence (failures,
// their history, the log's tail, secrets masked), the call to Gemini, and the record it leaves. The
// run's statuses around it (ANALYZING, then the final one) are runs/lifecycle.ts's.
import { and, desc, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { type AnalysisRecord, RootCauseAnswer } from '../contracts/analysis';
import { executions, organizations, projects, testDaily } from '../db/schema';
import type { Env } from '../env';
import { buildAnalysisPrompt, ROOT_CAUSE_RESPONSE_SCHEMA, SYSTEM_INSTRUCTION, type AnalysisInput, type FailureForPrompt } from './analysis-prompt';
import { dbOf, roomOf } from '../bindings';
import type { ExecutionRow } from './executions';
import { flakyFromDaily, projectDaily } from './flaky';
import { GeminiError, generateJson, geminiConfig } from './gemini';
import { fingerprintHistories } from './insights';
import { runFailingAttempts } from './run-results';
import { projectSecretValues } from './secrets';

const num = (v: string | undefined, fallback: number) => (v && Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : fallback);

/** Bounds: per-call timeout, one analysis per org per interval, input tokens (≈4 characters each). */
export function analysisLimits(env: Env) {
  // 20 s by default: the background work must end inside waitUntil's ~30 s after the response.
  const timeoutMs = num(env.ANALYSIS_TIMEOUT_MS, 20_000);
  return {
    timeoutMs,
    orgIntervalMs: num(env.ANALYSIS_ORG_INTERVAL_SECONDS, 30) * 1000,
    maxInputChars: num(env.ANALYSIS_MAX_INPUT_TOKENS, 8000) * 4,
    /** Past this an ANALYZING run is considered abandoned by the cron sweep. */
    abandonAfterMs: timeoutMs + 60_000,
  };
}

const MAX_FAILURES_IN_PROMPT = 12;
const LOG_TAIL_CHUNKS = 400;
const HISTORY_DAYS = 30;

/** Why the org gets no AI call (feature off, org opted out), or null when it may get one. Failure analysis and
 *  AI test-step generation both ask this, so one opt-out switch covers every AI feature. */
export async function analysisSkipReason(env: Env, organizationId: string): Promise<{ code: string; error: string } | null> {
  if (!geminiConfig(env)) return { code: 'NOT_CONFIGURED', error: 'AI analysis is off: this Agnox installation has no GEMINI_API_KEY' };
  const [org] = await dbOf(env).select({ enabled: organizations.aiAnalysisEnabled }).from(organizations).where(eq(organizations.id, organizationId)).limit(1);
  if (org && !org.enabled) return { code: 'OPTED_OUT', error: 'AI analysis is turned off for this organization' };
  return null;
}

/** Claims the org's AI slot: at most one AI call per org per interval (a conditional write, race-free). Failure
 *  analysis and AI test-step generation spend from this one budget, so neither can run up the other's cost. */
export async function claimOrgAiSlot(env: Env, organizationId: string, intervalMs = analysisLimits(env).orgIntervalMs): Promise<boolean> {
  const now = Date.now();
  const claimed = await dbOf(env)
    .update(organizations)
    .set({ lastAnalysisAt: now })
    .where(and(eq(organizations.id, organizationId), or(isNull(organizations.lastAnalysisAt), lte(organizations.lastAnalysisAt, now - intervalMs))))
    .returning({ id: organizations.id });
  return claimed.length > 0;
}

/** Everything the prompt needs, read from D1 and the run's room. */
export async function collectAnalysisInput(env: Env, row: ExecutionRow): Promise<AnalysisInput> {
  const db = dbOf(env);
  const [[project], secrets, attempts, logs] = await Promise.all([
    db
      .select({ name: projects.name })
      .from(projects)
      .where(and(eq(projects.id, row.projectId), eq(projects.organizationId, row.organizationId)))
      .limit(1),
    projectSecretValues(db, row.organizationId, row.projectId),
    // The run's own failing attempts, from its room (or archive), last retry first.
    runFailingAttempts(env, row).then((all) =>
      [...all]
        .sort((a, b) => b.retry - a.retry)
        .slice(0, 200)
        .map((t) => ({ ...t, file: t.file ?? null, errorMessage: t.error?.message ?? null, errorStack: t.error?.stack ?? null })),
    ),
    roomOf(env, row.taskId)
      .info()
      .then((info) => roomOf(env, row.taskId).readLogs(Math.max(0, info.lastSeq - LOG_TAIL_CHUNKS), LOG_TAIL_CHUNKS))
      .catch(() => null),
  ]);

  // One entry per test (its last failing attempt), then their history in this project and org.
  const seen = new Set<string>();
  const failing = attempts
    .filter((a) => {
      if (seen.has(a.testId)) return false;
      seen.add(a.testId);
      return true;
    })
    .slice(0, MAX_FAILURES_IN_PROMPT);
  const titles = [...new Set(failing.map((f) => f.title))];
  const fingerprints = [...new Set(failing.map((f) => f.fingerprint).filter((f): f is string => !!f))];
  const since = row.createdAt - HISTORY_DAYS * 86_400_000;
  const own = { taskId: row.taskId, occurrences: new Map<string, number>() };
  for (const a of attempts) if (a.fingerprint) own.occurrences.set(a.fingerprint, (own.occurrences.get(a.fingerprint) ?? 0) + 1);
  const [days, history, latest] = await Promise.all([
    titles.length ? projectDaily(db, row.organizationId, row.projectId, since, titles) : [],
    fingerprintHistories(env, row.organizationId, fingerprints, { except: own }),
    titles.length
      ? db
          .select({
            title: testDaily.title,
            lastTaskId: testDaily.lastTaskId,
            lastStatus: testDaily.lastStatus,
            lastAt: testDaily.lastAt,
            prevTaskId: testDaily.prevTaskId,
            prevStatus: testDaily.prevStatus,
            prevAt: testDaily.prevAt,
          })
          .from(testDaily)
          .where(and(eq(testDaily.organizationId, row.organizationId), eq(testDaily.projectId, row.projectId), inArray(testDaily.title, titles)))
          .orderBy(desc(testDaily.day), desc(testDaily.lastAt))
          .limit(500)
      : [],
  ]);
  // The previous outcome of each title: the latest run before this one (test_daily keeps the last run and the one before it).
  const previousOf = new Map<string, { status: string; taskId: string; at: number }>();
  for (const d of latest) {
    if (previousOf.has(d.title)) continue;
    const before = [
      { status: d.lastStatus, taskId: d.lastTaskId, at: d.lastAt },
      { status: d.prevStatus ?? '', taskId: d.prevTaskId ?? '', at: d.prevAt ?? 0 },
    ].find((c) => c.taskId && c.taskId !== row.taskId && c.at < row.createdAt);
    if (before) previousOf.set(d.title, before);
  }
  const flakyOf = new Map(
    flakyFromDaily(days)
      .filter((t) => t.flaky)
      .map((t) => [t.title, t.score]),
  );

  const failures: FailureForPrompt[] = failing.map((f) => ({
    title: f.title,
    file: f.file,
    status: f.status,
    retry: f.retry,
    errorMessage: f.errorMessage,
    errorStack: f.errorStack,
    previousOutcome: previousOf.get(f.title) ?? null,
    history: f.fingerprint ? (history.get(f.fingerprint) ?? null) : null,
    flaky: flakyOf.has(f.title) ? { score: flakyOf.get(f.title)! } : null,
  }));
  const ci = row.ciContext as { branch?: string; commitSha?: string; source?: string } | null;
  return {
    project: project?.name ?? row.projectId,
    image: row.image,
    environment: row.environment,
    source: row.source,
    status: (row.analysis as AnalysisRecord | null)?.finalStatus ?? row.status,
    reason: row.reason,
    exitCode: row.exitCode,
    counts: { total: row.totalTests, passed: row.passed, failed: row.failed, skipped: row.skipped, flaky: row.flaky },
    ci: ci ? { branch: ci.branch, commit: ci.commitSha, provider: ci.source } : null,
    failures,
    logTail: logs?.chunks.map((c) => c.data).join('') ?? '',
    secrets,
  };
}

/**
 * The analysis of one ANALYZING run: the record to store (done, skipped or failed, with why). Never
 * throws. The run's status is lifecycle's to change (runs/lifecycle.ts: analyzeAndEnd).
 */
export async function analyze(env: Env, row: ExecutionRow, pending: AnalysisRecord): Promise<AnalysisRecord> {
  const limits = analysisLimits(env);
  const model = geminiConfig(env)?.model;
  let record: AnalysisRecord;
  try {
    if (!(await claimOrgAiSlot(env, row.organizationId, limits.orgIntervalMs))) {
      record = {
        status: 'skipped',
        code: 'RATE_LIMITED',
        error: `Another AI call (analysis or step generation) ran for this organization less than ${limits.orgIntervalMs / 1000} s ago (one per ${limits.orgIntervalMs / 1000} s bounds cost)`,
      };
    } else {
      const input = await collectAnalysisInput(env, row);
      const { prompt, truncated } = buildAnalysisPrompt(input, limits.maxInputChars);
      const answer = await generateJson({
        env,
        prompt,
        systemInstruction: SYSTEM_INSTRUCTION,
        schema: RootCauseAnswer,
        responseSchema: ROOT_CAUSE_RESPONSE_SCHEMA,
        timeoutMs: limits.timeoutMs,
        maxOutputTokens: 1024,
      });
      record = { status: 'done', ...answer.data, model: answer.model, inputChars: prompt.length, truncated };
    }
  } catch (err) {
    record =
      err instanceof GeminiError
        ? { status: 'failed', code: err.code, error: err.message }
        : { status: 'failed', code: 'INTERNAL', error: `The analysis could not run: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { ...record, model, finalStatus: pending.finalStatus, requestedAt: pending.requestedAt, at: Date.now() };
}

/** The run log's line for a concluded analysis. */
export const analysisNote = (record: AnalysisRecord) =>
  record.status === 'done'
    ? `AI analysis (${record.category}, confidence ${Math.round((record.confidence ?? 0) * 100)}%): ${record.summary}`
    : `AI analysis ${record.status}: ${record.error}`;

/** Runs left ANALYZING past the deadline (the Worker stopped mid-call), each with the record that ends it: a failed analysis. */
export async function abandonedAnalyses(env: Env, now = Date.now()): Promise<Array<{ row: ExecutionRow; record: AnalysisRecord }>> {
  const stale = await dbOf(env)
    .select()
    .from(executions)
    .where(
      and(
        eq(executions.status, 'ANALYZING'),
        lt(executions.updatedAt, now - analysisLimits(env).abandonAfterMs),
        sql`json_extract(${executions.analysis}, '$.status') = 'pending'`,
      ),
    )
    .limit(50);
  return stale.map((row) => {
    const pending = row.analysis as AnalysisRecord;
    return {
      row,
      record: {
        status: 'failed',
        code: 'ABANDONED',
        error: 'The analysis did not finish in time (the Worker stopped during the call); the run ended without it',
        finalStatus: pending.finalStatus,
        requestedAt: pending.requestedAt,
        at: now,
      },
    };
  });
}
