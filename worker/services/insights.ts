// Insights from D1 alone: per-project pass rate and duration percentiles over time, slowest and most
// failing tests, flaky tests, failure-fingerprint history, and per-image metrics (seed 000's /api/metrics).
import { and, desc, eq, gte, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type { DayPoint, FingerprintHistory, TestStat } from '../contracts/insights';
import { executions, testResults } from '../db/schema';
import type { Env } from '../env';
import { dbOf } from '../bindings';
import { testKeyOf } from './fingerprint';
import { computeFlaky, projectAttempts, type FlakyTest } from './flaky';
import { runFailingAttempts } from './run-results';
import { FINAL_STATUSES } from '../contracts/vocabulary';

const DAY = 86_400_000;
/** Runs read for one trend: bounds the work of one request. */
const MAX_RUNS_READ = 5000;
/** Runs that ended with a verdict on their tests: every final status but a cancel. */
const ENDED = FINAL_STATUSES.filter((s) => s !== 'CANCELLED');

/** Nearest-rank percentile of `values` (null when empty). */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

type RunPoint = { status: string; durationMs: number | null; createdAt: number };

/** Per-day points (UTC days, oldest first, days without runs included) and the window's totals. */
export function trend(runs: RunPoint[], since: number, until: number) {
  const days: DayPoint[] = [];
  const byDay = new Map<string, RunPoint[]>();
  for (const r of runs) {
    const day = new Date(r.createdAt).toISOString().slice(0, 10);
    (byDay.get(day) ?? byDay.set(day, []).get(day)!).push(r);
  }
  for (let t = Date.UTC(new Date(since).getUTCFullYear(), new Date(since).getUTCMonth(), new Date(since).getUTCDate()); t <= until; t += DAY) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.push(point(day, byDay.get(day) ?? []));
  }
  return { series: days, totals: point('all', runs) };
}

function point(day: string, runs: RunPoint[]): DayPoint {
  const passed = runs.filter((r) => r.status === 'PASSED').length;
  const durations = runs.map((r) => r.durationMs).filter((d): d is number => d != null);
  return {
    day,
    runs: runs.length,
    passed,
    failed: runs.length - passed,
    passRate: runs.length ? Math.round((passed / runs.length) * 1000) / 1000 : null,
    p50Ms: percentile(durations, 50),
    p95Ms: percentile(durations, 95),
  };
}

export type ProjectInsights = {
  projectId: string;
  days: number;
  since: number;
  totals: DayPoint;
  series: DayPoint[];
  slowestTests: TestStat[];
  mostFailing: TestStat[];
  flaky: FlakyTest[];
};

export async function projectInsights(env: Env, organizationId: string, projectId: string, days: number, now = Date.now()): Promise<ProjectInsights> {
  const db = dbOf(env);
  const since = now - days * DAY;
  const [runs, tests, attempts] = await Promise.all([
    db
      .select({ status: executions.status, durationMs: executions.durationMs, createdAt: executions.createdAt })
      .from(executions)
      .where(
        and(
          eq(executions.organizationId, organizationId),
          eq(executions.projectId, projectId),
          gte(executions.createdAt, since),
          inArray(executions.status, ENDED),
        ),
      )
      .orderBy(desc(executions.createdAt))
      .limit(MAX_RUNS_READ),
    testStats(env, organizationId, projectId, since),
    projectAttempts(db, organizationId, projectId, since),
  ]);
  const { series, totals } = trend(runs, since, now);
  return {
    projectId,
    days,
    since,
    totals,
    series,
    slowestTests: [...tests].sort((a, b) => b.avgMs - a.avgMs).slice(0, 10),
    mostFailing: tests
      .filter((t) => t.failures > 0)
      .sort((a, b) => b.failures - a.failures || b.runs - a.runs)
      .slice(0, 10),
    flaky: computeFlaky(attempts)
      .filter((t) => t.flaky)
      .slice(0, 20),
  };
}

/** Per test (last attempt of each run counts once for duration; every failing attempt counts as a failure). */
async function testStats(env: Env, organizationId: string, projectId: string, since: number): Promise<TestStat[]> {
  const rows = await dbOf(env)
    .select({
      title: testResults.title,
      file: testResults.file,
      runs: sql<number>`count(distinct ${testResults.taskId})`,
      failures: sql<number>`sum(case when ${testResults.status} in ('failed','timedOut','interrupted') then 1 else 0 end)`,
      avgMs: sql<number>`avg(${testResults.durationMs})`,
      maxMs: sql<number>`max(${testResults.durationMs})`,
      lastFailedAt: sql<number | null>`max(case when ${testResults.status} in ('failed','timedOut','interrupted') then ${testResults.createdAt} end)`,
    })
    .from(testResults)
    .where(and(eq(testResults.organizationId, organizationId), eq(testResults.projectId, projectId), gte(testResults.createdAt, since)))
    .groupBy(testResults.title, testResults.file)
    .limit(2000);
  return rows.map((r) => ({
    testKey: testKeyOf(r),
    title: r.title,
    file: r.file,
    runs: r.runs,
    failures: r.failures ?? 0,
    avgMs: Math.round(r.avgMs ?? 0),
    maxMs: r.maxMs ?? 0,
    lastFailedAt: r.lastFailedAt,
  }));
}

/** Every fingerprint's org-wide history: how often, in how many runs and projects, first and last run. */
export async function fingerprintHistories(
  env: Env,
  organizationId: string,
  fingerprints: string[],
  opts: { exceptTaskId?: string } = {},
): Promise<Map<string, FingerprintHistory>> {
  if (!fingerprints.length) return new Map();
  // The AI prompt asks "seen before this run?": then the run itself is left out everywhere.
  const except = opts.exceptTaskId ?? '';
  const rows = await dbOf(env)
    .select({
      fingerprint: testResults.fingerprint,
      occurrences: sql<number>`count(*)`,
      runs: sql<number>`count(distinct ${testResults.taskId})`,
      projects: sql<number>`count(distinct ${testResults.projectId})`,
      firstSeenAt: sql<number>`min(${testResults.createdAt})`,
      lastSeenAt: sql<number>`max(${testResults.createdAt})`,
      firstTaskId: sql<string>`(SELECT t2.task_id FROM test_results t2 WHERE t2.organization_id = ${organizationId} AND t2.fingerprint = ${testResults.fingerprint} AND t2.task_id != ${except} ORDER BY t2.created_at, t2.task_id LIMIT 1)`,
      lastTaskId: sql<string>`(SELECT t3.task_id FROM test_results t3 WHERE t3.organization_id = ${organizationId} AND t3.fingerprint = ${testResults.fingerprint} AND t3.task_id != ${except} ORDER BY t3.created_at DESC, t3.task_id DESC LIMIT 1)`,
      sampleMessage: sql<
        string | null
      >`(SELECT substr(t4.error_message, 1, 500) FROM test_results t4 WHERE t4.organization_id = ${organizationId} AND t4.fingerprint = ${testResults.fingerprint} AND t4.task_id != ${except} ORDER BY t4.created_at DESC LIMIT 1)`,
    })
    .from(testResults)
    .where(and(eq(testResults.organizationId, organizationId), inArray(testResults.fingerprint, fingerprints.slice(0, 90)), ne(testResults.taskId, except)))
    .groupBy(testResults.fingerprint);
  return new Map(rows.map((r) => [r.fingerprint!, { ...r, fingerprint: r.fingerprint! }]));
}

/** The fingerprints seen most often in the window (optionally one project), with their history. */
export async function topFingerprints(env: Env, organizationId: string, opts: { projectId?: string; days: number; limit: number }, now = Date.now()) {
  const top = await dbOf(env)
    .select({ fingerprint: testResults.fingerprint, count: sql<number>`count(*)` })
    .from(testResults)
    .where(
      and(
        eq(testResults.organizationId, organizationId),
        isNotNull(testResults.fingerprint),
        gte(testResults.createdAt, now - opts.days * DAY),
        ...(opts.projectId ? [eq(testResults.projectId, opts.projectId)] : []),
      ),
    )
    .groupBy(testResults.fingerprint)
    .orderBy(desc(sql`count(*)`))
    .limit(opts.limit);
  const histories = await fingerprintHistories(
    env,
    organizationId,
    top.map((t) => t.fingerprint!),
  );
  return top.map((t) => ({ inWindow: t.count, ...histories.get(t.fingerprint!)! }));
}

/** One fingerprint: its history and the latest failures that carried it. */
export async function fingerprintDetail(env: Env, organizationId: string, fingerprint: string) {
  const history = (await fingerprintHistories(env, organizationId, [fingerprint])).get(fingerprint);
  if (!history) return null;
  const recent = await dbOf(env)
    .select({
      taskId: testResults.taskId,
      projectId: testResults.projectId,
      testId: testResults.testId,
      title: testResults.title,
      file: testResults.file,
      status: testResults.status,
      errorMessage: testResults.errorMessage,
      at: testResults.createdAt,
    })
    .from(testResults)
    .where(and(eq(testResults.organizationId, organizationId), eq(testResults.fingerprint, fingerprint)))
    .orderBy(desc(testResults.createdAt))
    .limit(50);
  return { ...history, recent };
}

/** The failing tests of one run, each with its fingerprint's history ("seen N times since …, first in run X"). */
export async function executionFailures(env: Env, organizationId: string, taskId: string) {
  const failing = (await runFailingAttempts(env, { organizationId, taskId })).map((t) => ({
    testId: t.testId,
    title: t.title,
    file: t.file ?? null,
    status: t.status,
    retry: t.retry,
    errorMessage: t.error?.message ?? null,
    fingerprint: t.fingerprint,
  }));
  const histories = await fingerprintHistories(env, organizationId, [...new Set(failing.map((f) => f.fingerprint).filter((f): f is string => !!f))]);
  return failing.map((f) => ({ ...f, history: f.fingerprint ? (histories.get(f.fingerprint) ?? null) : null }));
}

/** Seed 000's performance insights for one Docker image: runs, pass rate, duration percentiles, recent runs. */
export async function imageMetrics(env: Env, organizationId: string, image: string, days: number, now = Date.now()) {
  const since = now - days * DAY;
  const runs = await dbOf(env)
    .select({
      taskId: executions.taskId,
      status: executions.status,
      durationMs: executions.durationMs,
      createdAt: executions.createdAt,
      projectId: executions.projectId,
    })
    .from(executions)
    .where(and(eq(executions.organizationId, organizationId), eq(executions.image, image), gte(executions.createdAt, since), inArray(executions.status, ENDED)))
    .orderBy(desc(executions.createdAt))
    .limit(MAX_RUNS_READ);
  const { series, totals } = trend(runs, since, now);
  const durations = runs.map((r) => r.durationMs).filter((d): d is number => d != null);
  return {
    image,
    days,
    since,
    totals,
    series,
    avgDurationMs: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : null,
    recent: runs.slice(0, 20),
  };
}
