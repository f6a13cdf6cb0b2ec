// Flaky tests, from stored results alone (no model, no key): computeFlaky on a list of attempts, and
// flakyFromDaily, the same rules on the per-day aggregates (test_daily) that insights read. A test is flaky when, in one run, it failed
// and then passed on retry; or when it both passed and failed on the same commit; or when it keeps
// flipping between pass and fail within the window. The score says how often that happens per run.
import { and, asc, eq, gte, inArray } from 'drizzle-orm';
import { testDaily } from '../db/schema';
import { testKeyOf } from './fingerprint';
import { commitOutcomes, dayOf } from './test-aggregates';
import type { Db } from '../bindings';

export type Attempt = {
  taskId: string;
  title: string;
  file: string | null;
  status: string;
  retry: number;
  createdAt: number;
  /** The commit the run tested, when known (CI context). */
  commit: string | null;
};

export type RunOutcome = 'passed' | 'failed' | 'flaky';

export type FlakyTest = {
  testKey: string;
  title: string;
  file: string | null;
  /** Runs in the window where the test passed or failed (skips do not count). */
  runs: number;
  passed: number;
  failed: number;
  /** Runs where it failed and then passed on retry. */
  retriedPasses: number;
  /** Changes between pass and fail from one run to the next (runs in time order). */
  flips: number;
  /** Commits on which it both passed and failed. */
  sameCommitFlips: number;
  /** 0..1: (retried passes + same-commit flips + flips / 2) per run, capped at 1. */
  score: number;
  flaky: boolean;
  lastRunAt: number;
  lastFlakyTaskId: string | null;
};

/** Flips in the window needed on their own (without retries or same-commit evidence): a test that broke and got fixed flips twice. */
export const MIN_FLIPS = 3;

const FAILING = new Set(['failed', 'timedOut', 'interrupted']);

/** One run's outcome for one test from all its attempts; null when it only skipped. */
export function runOutcome(attempts: Array<Pick<Attempt, 'status' | 'retry'>>): RunOutcome | null {
  const failed = attempts.some((a) => FAILING.has(a.status));
  const passed = attempts.some((a) => a.status === 'passed');
  if (attempts.some((a) => a.status === 'flaky') || (failed && passed)) return 'flaky';
  if (failed) return 'failed';
  if (passed) return 'passed';
  return null;
}

/** Flaky statistics for every test seen in `attempts` (any order), flakiest first. */
export function computeFlaky(attempts: Attempt[]): FlakyTest[] {
  const byTest = new Map<string, Attempt[]>();
  for (const a of attempts) {
    const key = testKeyOf(a);
    const list = byTest.get(key);
    if (list) list.push(a);
    else byTest.set(key, [a]);
  }
  const out: FlakyTest[] = [];
  for (const [testKey, list] of byTest) {
    const byRun = new Map<string, Attempt[]>();
    for (const a of list) {
      const run = byRun.get(a.taskId);
      if (run) run.push(a);
      else byRun.set(a.taskId, [a]);
    }
    const runs = [...byRun.entries()]
      .map(([taskId, as]) => ({ taskId, outcome: runOutcome(as), at: Math.min(...as.map((a) => a.createdAt)), commit: as[0]!.commit }))
      .filter((r): r is typeof r & { outcome: RunOutcome } => r.outcome !== null)
      .sort((a, b) => a.at - b.at || a.taskId.localeCompare(b.taskId));
    if (!runs.length) continue;

    let flips = 0;
    let last: 'passed' | 'failed' | null = null;
    for (const r of runs) {
      if (r.outcome === 'flaky') continue;
      if (last && r.outcome !== last) flips++;
      last = r.outcome;
    }
    const commits = new Map<string, Set<RunOutcome>>();
    for (const r of runs) {
      if (!r.commit) continue;
      const seen = commits.get(r.commit) ?? new Set<RunOutcome>();
      seen.add(r.outcome);
      commits.set(r.commit, seen);
    }
    const sameCommitFlips = [...commits.values()].filter((s) => s.has('flaky') || (s.has('passed') && s.has('failed'))).length;
    const retried = runs.filter((r) => r.outcome === 'flaky');
    const score = Math.min(1, (retried.length + sameCommitFlips + flips / 2) / runs.length);
    const flaky = retried.length > 0 || sameCommitFlips > 0 || flips >= MIN_FLIPS;
    const lastFlaky = retried.at(-1)?.taskId ?? null;
    out.push({
      testKey,
      title: list[0]!.title,
      file: list[0]!.file,
      runs: runs.length,
      passed: runs.filter((r) => r.outcome === 'passed').length,
      failed: runs.filter((r) => r.outcome === 'failed').length,
      retriedPasses: retried.length,
      flips,
      sameCommitFlips,
      score: Math.round(score * 100) / 100,
      flaky,
      lastRunAt: runs.at(-1)!.at,
      lastFlakyTaskId: lastFlaky,
    });
  }
  return out.sort((a, b) => Number(b.flaky) - Number(a.flaky) || b.score - a.score || a.testKey.localeCompare(b.testKey));
}

/** Daily rows read for one project's window: bounds the work of one insights request. */
export const MAX_DAILY_ROWS_READ = 20_000;

export type DailyRow = Pick<
  typeof testDaily.$inferSelect,
  'testKey' | 'title' | 'file' | 'day' | 'passed' | 'failed' | 'flaky' | 'firstOutcome' | 'lastOutcome' | 'flips' | 'lastRunAt' | 'lastFlakyTaskId' | 'commits'
>;

/** One project's test_daily rows since `since` (optionally only some titles), oldest day first. */
export async function projectDaily(db: Db, organizationId: string, projectId: string, since: number, titles?: string[]): Promise<DailyRow[]> {
  return db
    .select({
      testKey: testDaily.testKey,
      title: testDaily.title,
      file: testDaily.file,
      day: testDaily.day,
      passed: testDaily.passed,
      failed: testDaily.failed,
      flaky: testDaily.flaky,
      firstOutcome: testDaily.firstOutcome,
      lastOutcome: testDaily.lastOutcome,
      flips: testDaily.flips,
      lastRunAt: testDaily.lastRunAt,
      lastFlakyTaskId: testDaily.lastFlakyTaskId,
      commits: testDaily.commits,
    })
    .from(testDaily)
    .where(
      and(
        eq(testDaily.organizationId, organizationId),
        eq(testDaily.projectId, projectId),
        gte(testDaily.day, dayOf(since)),
        ...(titles?.length ? [inArray(testDaily.title, titles.slice(0, 90))] : []),
      ),
    )
    .orderBy(asc(testDaily.day))
    .limit(MAX_DAILY_ROWS_READ);
}

/**
 * computeFlaky's statistics from the daily aggregates (the same rules): runs in fold order within a
 * day, days in order; a flip between days is the last outcome of one day against the first of the next.
 */
export function flakyFromDaily(rows: DailyRow[]): FlakyTest[] {
  const byTest = new Map<string, DailyRow[]>();
  for (const r of [...rows].sort((a, b) => a.day - b.day)) (byTest.get(r.testKey) ?? byTest.set(r.testKey, []).get(r.testKey)!).push(r);
  const out: FlakyTest[] = [];
  for (const [testKey, days] of byTest) {
    const passed = days.reduce((s, d) => s + d.passed, 0);
    const failed = days.reduce((s, d) => s + d.failed, 0);
    const retried = days.reduce((s, d) => s + d.flaky, 0);
    const runs = passed + failed + retried;
    if (!runs) continue;
    let flips = 0;
    let last: string | null = null;
    for (const d of days) {
      flips += d.flips;
      if (last && d.firstOutcome && d.firstOutcome !== last) flips++;
      last = d.lastOutcome ?? last;
    }
    const sameCommitFlips = [...commitOutcomes(days).values()].filter((bits) => bits & 4 || (bits & 1 && bits & 2)).length;
    const score = Math.min(1, (retried + sameCommitFlips + flips / 2) / runs);
    out.push({
      testKey,
      title: days[0]!.title,
      file: days[0]!.file,
      runs,
      passed,
      failed,
      retriedPasses: retried,
      flips,
      sameCommitFlips,
      score: Math.round(score * 100) / 100,
      flaky: retried > 0 || sameCommitFlips > 0 || flips >= MIN_FLIPS,
      lastRunAt: Math.max(...days.map((d) => d.lastRunAt ?? 0)),
      lastFlakyTaskId: days.findLast((d) => d.lastFlakyTaskId)?.lastFlakyTaskId ?? null,
    });
  }
  return out.sort((a, b) => Number(b.flaky) - Number(a.flaky) || b.score - a.score || a.testKey.localeCompare(b.testKey));
}

/** The flaky tests of a project in the window, flakiest first. */
export async function flakyTests(db: Db, organizationId: string, projectId: string, since: number, limit = 50): Promise<FlakyTest[]> {
  return flakyFromDaily(await projectDaily(db, organizationId, projectId, since))
    .filter((t) => t.flaky)
    .slice(0, limit);
}
