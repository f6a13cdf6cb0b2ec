// Insights from D1's aggregates (test_daily, fingerprint_daily) and runs' own results: per-project pass rate and duration percentiles over time, slowest and most
// failing tests, flaky tests, failure-fingerprint history, and per-image metrics (seed 000's /api/metrics).
import { and, asc, desc, eq, gte, inArray, sql } from 'drizzle-orm';
import type { DayPoint, FingerprintHistory, TestStat } from '../contracts/insights';
import { executions, fingerprintDaily, testDaily } from '../db/schema';
import type { Env } from '../env';
import { dbOf } from '../bindings';
import { testKeyOf } from './fingerprint';
import { flakyFromDaily, projectDaily, type FlakyTest } from './flaky';
import { runFailingAttempts } from './run-results';
import { dayOf } from './test-aggregates';
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
    projectDaily(db, organizationId, projectId, since),
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
    flaky: flakyFromDaily(attempts)
      .filter((t) => t.flaky)
      .slice(0, 20),
  };
}

/** Per test over the window's days: runs, failing attempts, mean and longest attempt, last failure (test_daily). */
async function testStats(env: Env, organizationId: string, projectId: string, since: number): Promise<TestStat[]> {
  const rows = await dbOf(env)
    .select({
      title: sql<string>`min(${testDaily.title})`,
      file: sql<string | null>`min(${testDaily.file})`,
      runs: sql<number>`sum(${testDaily.runs})`,
      failures: sql<number>`sum(${testDaily.failures})`,
      durationSum: sql<number>`sum(${testDaily.durationSum})`,
      attempts: sql<number>`sum(${testDaily.attempts})`,
      maxMs: sql<number>`max(${testDaily.durationMax})`,
      lastFailedAt: sql<number | null>`max(${testDaily.lastFailedAt})`,
    })
    .from(testDaily)
    .where(and(eq(testDaily.organizationId, organizationId), eq(testDaily.projectId, projectId), gte(testDaily.day, dayOf(since))))
    .groupBy(testDaily.testKey)
    .limit(2000);
  return rows.map((r) => ({
    testKey: testKeyOf(r),
    title: r.title,
    file: r.file,
    runs: r.runs,
    failures: r.failures ?? 0,
    avgMs: Math.round(r.attempts ? r.durationSum / r.attempts : 0),
    maxMs: r.maxMs ?? 0,
    lastFailedAt: r.lastFailedAt,
  }));
}

/** A run left out of a fingerprint's history (the AI prompt asks "seen before this run?"): its own failing attempts per fingerprint. */
export type ExceptRun = { taskId: string; occurrences: Map<string, number> };

/** Every fingerprint's org-wide history (fingerprint_daily): how often, in how many runs and projects, first and last run. */
export async function fingerprintHistories(
  env: Env,
  organizationId: string,
  fingerprints: string[],
  opts: { except?: ExceptRun } = {},
): Promise<Map<string, FingerprintHistory>> {
  if (!fingerprints.length) return new Map();
  const rows = await dbOf(env)
    .select()
    .from(fingerprintDaily)
    .where(and(eq(fingerprintDaily.organizationId, organizationId), inArray(fingerprintDaily.fingerprint, fingerprints.slice(0, 90))))
    .orderBy(asc(fingerprintDaily.day), asc(fingerprintDaily.firstSeenAt))
    .limit(5000);
  const except = opts.except;
  const out = new Map<string, FingerprintHistory>();
  const projectsOf = new Map<string, Set<string>>();
  for (const r of rows) {
    // The excepted run's own row: its runs and attempts come off, and its first/last run is the one before.
    const own = except && (r.lastTaskId === except.taskId || r.firstTaskId === except.taskId);
    const runs = r.runs - (own ? 1 : 0);
    if (runs <= 0) continue;
    const occurrences = r.occurrences - (own ? (except.occurrences.get(r.fingerprint) ?? 0) : 0);
    const last = own && r.lastTaskId === except.taskId ? { taskId: r.prevTaskId, at: r.prevSeenAt } : { taskId: r.lastTaskId, at: r.lastSeenAt };
    const first = own && r.firstTaskId === except.taskId ? last : { taskId: r.firstTaskId, at: r.firstSeenAt };
    const h = out.get(r.fingerprint);
    const projects = projectsOf.get(r.fingerprint) ?? projectsOf.set(r.fingerprint, new Set()).get(r.fingerprint)!;
    projects.add(r.projectId);
    const next = {
      fingerprint: r.fingerprint,
      occurrences: (h?.occurrences ?? 0) + occurrences,
      runs: (h?.runs ?? 0) + runs,
      projects: projects.size,
      firstSeenAt: h && h.firstSeenAt <= (first.at ?? Number.MAX_SAFE_INTEGER) ? h.firstSeenAt : (first.at ?? 0),
      firstTaskId: h && h.firstSeenAt <= (first.at ?? Number.MAX_SAFE_INTEGER) ? h.firstTaskId : (first.taskId ?? ''),
      lastSeenAt: h && h.lastSeenAt > (last.at ?? 0) ? h.lastSeenAt : (last.at ?? 0),
      lastTaskId: h && h.lastSeenAt > (last.at ?? 0) ? h.lastTaskId : (last.taskId ?? ''),
      sampleMessage: h && h.lastSeenAt > (last.at ?? 0) ? h.sampleMessage : (r.sampleMessage ?? h?.sampleMessage ?? null),
    };
    out.set(r.fingerprint, next);
  }
  return out;
}

/** The fingerprints seen most often in the window (optionally one project), with their history. */
export async function topFingerprints(env: Env, organizationId: string, opts: { projectId?: string; days: number; limit: number }, now = Date.now()) {
  const count = sql<number>`sum(${fingerprintDaily.occurrences})`;
  const top = await dbOf(env)
    .select({ fingerprint: fingerprintDaily.fingerprint, count })
    .from(fingerprintDaily)
    .where(
      and(
        eq(fingerprintDaily.organizationId, organizationId),
        gte(fingerprintDaily.day, dayOf(now - opts.days * DAY)),
        ...(opts.projectId ? [eq(fingerprintDaily.projectId, opts.projectId)] : []),
      ),
    )
    .groupBy(fingerprintDaily.fingerprint)
    .orderBy(desc(count))
    .limit(opts.limit);
  const histories = await fingerprintHistories(
    env,
    organizationId,
    top.map((t) => t.fingerprint),
  );
  return top.map((t) => ({ inWindow: t.count, ...histories.get(t.fingerprint)! }));
}

/** Runs whose results are read for a fingerprint's recent failures (each a room or R2 read). */
const RECENT_RUNS_READ = 20;
const RECENT_FAILURES = 50;

/** One fingerprint: its history and the latest failures that carried it (read from those runs' results). */
export async function fingerprintDetail(env: Env, organizationId: string, fingerprint: string) {
  const history = (await fingerprintHistories(env, organizationId, [fingerprint])).get(fingerprint);
  if (!history) return null;
  const db = dbOf(env);
  const days = await db
    .select({ recent: fingerprintDaily.recentTaskIds, lastSeenAt: fingerprintDaily.lastSeenAt })
    .from(fingerprintDaily)
    .where(and(eq(fingerprintDaily.organizationId, organizationId), eq(fingerprintDaily.fingerprint, fingerprint)))
    .orderBy(desc(fingerprintDaily.day), desc(fingerprintDaily.lastSeenAt))
    .limit(RECENT_RUNS_READ);
  const taskIds = [...new Set(days.flatMap((d) => [...d.recent].reverse()))].slice(0, RECENT_RUNS_READ);
  const runs = taskIds.length
    ? await db
        .select({ taskId: executions.taskId, projectId: executions.projectId, at: sql<number>`coalesce(${executions.finishedAt}, ${executions.updatedAt})` })
        .from(executions)
        .where(and(eq(executions.organizationId, organizationId), inArray(executions.taskId, taskIds)))
    : [];
  runs.sort((a, b) => b.at - a.at);
  const perRun = await Promise.all(
    runs.map(async (run) =>
      (await runFailingAttempts(env, { organizationId, taskId: run.taskId }))
        .filter((t) => t.fingerprint === fingerprint)
        .map((t) => ({
          taskId: run.taskId,
          projectId: run.projectId,
          testId: t.testId,
          title: t.title,
          file: t.file ?? null,
          status: t.status,
          errorMessage: t.error?.message ?? null,
          at: run.at,
        })),
    ),
  );
  return { ...history, recent: perRun.flat().slice(0, RECENT_FAILURES) };
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
