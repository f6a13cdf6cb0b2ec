// Folding a finished run's results into the per-project daily aggregates (test_daily, fingerprint_daily)
// that insights, flaky scores, failure history and the AI analysis read: one INSERT … SELECT FROM
// json_each(?) … ON CONFLICT DO UPDATE per table, whatever the run's size (one bound JSON parameter,
// not a statement per 5 rows), and atomic in SQL, so that runs of one project ending together all count.
// A run is folded in once: the statements only select runs not yet marked results_folded_at, and the
// batch marks it last (agent complete and ingest teardown may be retried).
import { sql } from 'drizzle-orm';
import type { TestResult } from '../contracts/results';
import type { Db } from '../bindings';
import { batchable } from '../lib/d1';
import { fingerprintOfResult, testKeyOf } from './fingerprint';

export const DAY_MS = 86_400_000;
/** UTC days since the epoch: test_daily's and fingerprint_daily's `day`. */
export const dayOf = (at: number) => Math.floor(at / DAY_MS);

const FAILING = new Set(['failed', 'timedOut', 'interrupted']);
/** Commit outcome keys kept per row (`<sha>:<bit>`, bits 1 passed, 2 failed, 4 flaky): bounded by the text's length. */
const MAX_COMMITS_CHARS = 1200;
/** Run ids kept per fingerprint per project per day, for its recent failures. */
const RECENT_TASKS = 10;

type TestFold = {
  /** key, title, file */
  k: string;
  t: string;
  f: string | null;
  /** attempts, failing attempts, duration sum and max */
  a: number;
  x: number;
  d: number;
  m: number;
  /** run outcome: P passed, F failed, K flaky (failed then passed, or reported flaky); null when only skipped */
  o: 'P' | 'F' | 'K' | null;
  /** the last attempt's status, the last failing attempt's fingerprint */
  s: string;
  p: string | null;
};
type FingerprintFold = { g: string; n: number; m: string | null };

/** One run's contribution, per test (by key) and per fingerprint. Pure. */
export function foldRun(tests: TestResult[]): { tests: TestFold[]; fingerprints: FingerprintFold[] } {
  const byKey = new Map<string, TestResult[]>();
  for (const t of tests) {
    const key = testKeyOf(t);
    (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(t);
  }
  const out: TestFold[] = [];
  const prints = new Map<string, FingerprintFold>();
  for (const [k, attempts] of byKey) {
    const sorted = [...attempts].sort((a, b) => (a.retry ?? 0) - (b.retry ?? 0));
    const failedAny = sorted.some((a) => FAILING.has(a.status));
    const passedAny = sorted.some((a) => a.status === 'passed');
    const o = sorted.some((a) => a.status === 'flaky') || (failedAny && passedAny) ? 'K' : failedAny ? 'F' : passedAny ? 'P' : null;
    let p: string | null = null;
    for (const a of sorted) {
      const fp = fingerprintOfResult(a);
      if (!fp) continue;
      p = fp;
      const seen = prints.get(fp) ?? { g: fp, n: 0, m: null };
      seen.n += 1;
      seen.m = a.error?.message?.slice(0, 500) ?? seen.m;
      prints.set(fp, seen);
    }
    const durations = sorted.map((a) => a.durationMs ?? 0);
    out.push({
      k,
      t: sorted[0]!.title,
      f: sorted[0]!.file ?? null,
      a: sorted.length,
      x: sorted.filter((a) => FAILING.has(a.status)).length,
      d: durations.reduce((s, v) => s + v, 0),
      m: Math.max(...durations),
      o,
      s: sorted.at(-1)!.status,
      p,
    });
  }
  return { tests: out, fingerprints: [...prints.values()] };
}

/**
 * The statements that fold one run's results in (for the caller's batch, before its other writes to the
 * run): test_daily, fingerprint_daily, then the run's results_folded_at. The run's project and commit come
 * from its row.
 */
export function foldRunStatements(db: Db, run: { organizationId: string; taskId: string }, tests: TestResult[], at = Date.now()) {
  const { tests: folds, fingerprints } = foldRun(tests);
  const day = dayOf(at);
  const { organizationId: org, taskId } = run;
  const runRow = sql`JOIN executions e ON e.task_id = ${taskId} AND e.organization_id = ${org} AND e.results_folded_at IS NULL`;
  // A commit is a JSON key: only plain ones (hex shas, tags) are kept.
  const commit = sql`CASE WHEN json_extract(e.ci_context, '$.commitSha') GLOB '[0-9A-Za-z]*' AND json_extract(e.ci_context, '$.commitSha') NOT GLOB '*[^0-9A-Za-z._-]*' AND length(json_extract(e.ci_context, '$.commitSha')) <= 80 THEN json_extract(e.ci_context, '$.commitSha') END`;
  const o = sql`json_extract(j.value, '$.o')`;
  // Runs usually fold in the order they end; the migration folds old runs in any order, so "last" and
  // "first" go by time, not by fold order (flips within a day still follow fold order).
  const later = (column: string) =>
    sql.raw(`CASE WHEN excluded.${column} IS NULL THEN ${column} WHEN ${column} IS NULL THEN excluded.${column} ELSE max(${column}, excluded.${column}) END`);
  const newer = sql.raw('excluded.last_at >= last_at');
  const newerSeen = sql.raw('excluded.last_seen_at >= last_seen_at');
  const statements = [];
  if (folds.length) {
    statements.push(
      batchable(
        db,
        sql`
        INSERT INTO test_daily (organization_id, project_id, day, test_key, title, file, runs, attempts, failures, duration_sum, duration_max,
          last_failed_at, passed, failed, flaky, first_outcome, last_outcome, flips, last_run_at, last_flaky_task_id, commits, last_fingerprint,
          last_task_id, last_status, last_at)
        SELECT e.organization_id, e.project_id, ${day}, json_extract(j.value, '$.k'), json_extract(j.value, '$.t'), json_extract(j.value, '$.f'), 1,
          json_extract(j.value, '$.a'), json_extract(j.value, '$.x'), json_extract(j.value, '$.d'), json_extract(j.value, '$.m'),
          CASE WHEN json_extract(j.value, '$.x') > 0 THEN ${at} END,
          ${o} IS 'P', ${o} IS 'F', ${o} IS 'K',
          CASE WHEN ${o} IN ('P', 'F') THEN ${o} END, CASE WHEN ${o} IN ('P', 'F') THEN ${o} END, 0,
          CASE WHEN ${o} IS NOT NULL THEN ${at} END,
          CASE WHEN ${o} IS 'K' THEN ${taskId} END,
          CASE WHEN ${o} IS NOT NULL AND ${commit} IS NOT NULL
            THEN json_object(${commit} || ':' || (CASE ${o} WHEN 'P' THEN 1 WHEN 'F' THEN 2 ELSE 4 END), 1) ELSE '{}' END,
          json_extract(j.value, '$.p'), ${taskId}, json_extract(j.value, '$.s'), ${at}
        FROM json_each(${JSON.stringify(folds)}) j ${runRow}
        WHERE true
        ON CONFLICT (organization_id, project_id, day, test_key) DO UPDATE SET
          runs = runs + 1,
          attempts = attempts + excluded.attempts,
          failures = failures + excluded.failures,
          duration_sum = duration_sum + excluded.duration_sum,
          duration_max = max(duration_max, excluded.duration_max),
          last_failed_at = ${later('last_failed_at')},
          passed = passed + excluded.passed,
          failed = failed + excluded.failed,
          flaky = flaky + excluded.flaky,
          flips = flips + (excluded.first_outcome IS NOT NULL AND last_outcome IS NOT NULL AND excluded.first_outcome != last_outcome),
          first_outcome = coalesce(first_outcome, excluded.first_outcome),
          last_outcome = coalesce(excluded.last_outcome, last_outcome),
          last_run_at = ${later('last_run_at')},
          last_flaky_task_id = coalesce(excluded.last_flaky_task_id, last_flaky_task_id),
          commits = CASE WHEN length(commits) < ${MAX_COMMITS_CHARS} THEN json_patch(commits, excluded.commits) ELSE commits END,
          last_fingerprint = coalesce(excluded.last_fingerprint, last_fingerprint),
          prev_task_id = CASE WHEN ${newer} THEN last_task_id WHEN excluded.last_at > coalesce(prev_at, 0) THEN excluded.last_task_id ELSE prev_task_id END,
          prev_status = CASE WHEN ${newer} THEN last_status WHEN excluded.last_at > coalesce(prev_at, 0) THEN excluded.last_status ELSE prev_status END,
          prev_at = CASE WHEN ${newer} THEN last_at WHEN excluded.last_at > coalesce(prev_at, 0) THEN excluded.last_at ELSE prev_at END,
          last_task_id = CASE WHEN ${newer} THEN excluded.last_task_id ELSE last_task_id END,
          last_status = CASE WHEN ${newer} THEN excluded.last_status ELSE last_status END,
          last_at = max(last_at, excluded.last_at)`,
      ),
    );
  }
  if (fingerprints.length) {
    statements.push(
      batchable(
        db,
        sql`
        INSERT INTO fingerprint_daily (organization_id, project_id, day, fingerprint, occurrences, runs, first_seen_at, first_task_id,
          last_seen_at, last_task_id, recent_task_ids, sample_message)
        SELECT e.organization_id, e.project_id, ${day}, json_extract(j.value, '$.g'), json_extract(j.value, '$.n'), 1, ${at}, ${taskId},
          ${at}, ${taskId}, json_array(${taskId}), json_extract(j.value, '$.m')
        FROM json_each(${JSON.stringify(fingerprints)}) j ${runRow}
        WHERE true
        ON CONFLICT (organization_id, project_id, day, fingerprint) DO UPDATE SET
          occurrences = occurrences + excluded.occurrences,
          runs = runs + 1,
          first_seen_at = min(first_seen_at, excluded.first_seen_at),
          first_task_id = CASE WHEN excluded.first_seen_at < first_seen_at THEN excluded.first_task_id ELSE first_task_id END,
          prev_task_id = CASE WHEN ${newerSeen} THEN last_task_id WHEN excluded.last_seen_at > coalesce(prev_seen_at, 0) THEN excluded.last_task_id ELSE prev_task_id END,
          prev_seen_at = CASE WHEN ${newerSeen} THEN last_seen_at WHEN excluded.last_seen_at > coalesce(prev_seen_at, 0) THEN excluded.last_seen_at ELSE prev_seen_at END,
          last_seen_at = max(last_seen_at, excluded.last_seen_at),
          last_task_id = CASE WHEN ${newerSeen} THEN excluded.last_task_id ELSE last_task_id END,
          recent_task_ids = json_insert(CASE WHEN json_array_length(recent_task_ids) >= ${RECENT_TASKS} THEN json_remove(recent_task_ids, '$[0]') ELSE recent_task_ids END, '$[#]', excluded.last_task_id),
          sample_message = CASE WHEN ${newerSeen} THEN coalesce(excluded.sample_message, sample_message) ELSE sample_message END`,
      ),
    );
  }
  statements.push(
    batchable(db, sql`UPDATE executions SET results_folded_at = ${at} WHERE task_id = ${taskId} AND organization_id = ${org} AND results_folded_at IS NULL`),
  );
  return statements;
}

/** `<sha>:<bit>` keys of test_daily.commits, merged over days: per commit, the outcomes seen on it. */
export function commitOutcomes(rows: Array<{ commits: string }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    for (const key of Object.keys(JSON.parse(r.commits || '{}') as Record<string, number>)) {
      const i = key.lastIndexOf(':');
      const sha = key.slice(0, i);
      out.set(sha, (out.get(sha) ?? 0) | Number(key.slice(i + 1)));
    }
  }
  return out;
}
