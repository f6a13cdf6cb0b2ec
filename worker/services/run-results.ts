// One run's per-test results (every attempt of every test), wherever they are: the run's room holds
// them while it lives (both paths write them there); when the run ends they are archived once to R2 as
// gzip JSON, in the shape GET /api/executions/:id/tests returns, and read from there once the room is
// purged. D1 keeps no row per test per run.
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { TestResult } from '../contracts/results';
import { testResults } from '../db/schema';
import type { Env } from '../env';
import { dbOf, roomOf } from '../bindings';
import { fingerprintOfResult } from './fingerprint';

/** A run whose results are read: the org scopes the archive's key (the room is the run's own). */
export type RunRef = { organizationId: string; taskId: string };

/**
 * Outside the run's prefix (`<org>/<taskId>/`, its artifacts: listed by the API, uploaded by agents and
 * reporters), so that no upload can overwrite it and the artifacts list stays the run's files; purge-runs.ts
 * deletes it with the run's other objects.
 */
export const resultsArchiveKey = (run: RunRef) => `_results/${run.organizationId}/${run.taskId}.json.gz`;

const Archive = z.array(TestResult);

/** Gzip JSON of the results (CompressionStream: no library, streaming in workerd). */
export async function gzipJson(value: unknown): Promise<ArrayBuffer> {
  const stream = new Blob([JSON.stringify(value)]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Response(stream).arrayBuffer();
}

/** Writes the results to R2 (idempotent: the same key, the same content); nothing for a run without results. */
export async function writeResultsArchive(env: Env, run: RunRef, tests: TestResult[]): Promise<void> {
  if (!tests.length) return;
  await env.ARTIFACTS.put(resultsArchiveKey(run), await gzipJson(tests), { httpMetadata: { contentType: 'application/gzip' } });
}

/** The run's archived results, or null when it has none (not ended yet, no results, or purged). */
export async function readResultsArchive(env: Env, run: RunRef): Promise<TestResult[] | null> {
  const object = await env.ARTIFACTS.get(resultsArchiveKey(run));
  if (!object) return null;
  const json = await new Response(object.body.pipeThrough(new DecompressionStream('gzip'))).json();
  return Archive.parse(json);
}

/** At the run's end (runs/lifecycle.ts END_STEPS): the room's results, archived once. */
export async function archiveRunResults(env: Env, run: RunRef): Promise<number> {
  const tests = await roomOf(env, run.taskId).readTests();
  await writeResultsArchive(env, run, tests);
  return tests.length;
}

/**
 * Every attempt of every test of the run: from its room while it has them, else from the archive, else
 * (a run stored before rooms kept results, until the migration has moved it) from its test_results rows.
 */
export async function runResults(env: Env, run: RunRef): Promise<TestResult[]> {
  const live = await roomOf(env, run.taskId).readTests();
  if (live.length) return live;
  const archived = await readResultsArchive(env, run);
  if (archived) return archived;
  return (await legacyResultRows(env, run)).map(storedTestResult);
}

/** A run's old test_results rows (only runs the migration has not reached yet have any). */
export const legacyResultRows = (env: Env, run: RunRef) =>
  dbOf(env)
    .select()
    .from(testResults)
    .where(and(eq(testResults.taskId, run.taskId), eq(testResults.organizationId, run.organizationId)))
    .orderBy(testResults.createdAt, testResults.testId, testResults.retry);

/** A test_results row in the API's shape. */
export const storedTestResult = (r: typeof testResults.$inferSelect): TestResult => ({
  testId: r.testId,
  title: r.title,
  status: r.status,
  durationMs: r.durationMs,
  retry: r.retry,
  ...(r.file ? { file: r.file } : {}),
  ...(r.suite ? { suite: r.suite } : {}),
  ...(r.startedAt ? { startedAt: r.startedAt } : {}),
  ...(r.errorMessage
    ? { error: { message: r.errorMessage, ...(r.errorStack ? { stack: r.errorStack } : {}), ...(r.errorLocation ? { location: r.errorLocation } : {}) } }
    : {}),
  ...(r.attachments?.length ? { attachments: r.attachments } : {}),
});

/** A failing attempt of a run, with its fingerprint (computed on read: fingerprint.ts is pure). */
export type FailingAttempt = TestResult & { fingerprint: string | null };

const FAILING = new Set<TestResult['status']>(['failed', 'timedOut', 'interrupted', 'flaky']);

/** The run's failing attempts (failed, timed out, interrupted, flaky), ordered by test, then retry. */
export async function runFailingAttempts(env: Env, run: RunRef): Promise<FailingAttempt[]> {
  return (await runResults(env, run))
    .filter((t) => FAILING.has(t.status))
    .map((t) => ({ ...t, retry: t.retry ?? 0, fingerprint: fingerprintOfResult(t) }))
    .sort((a, b) => (a.testId < b.testId ? -1 : a.testId > b.testId ? 1 : a.retry - b.retry));
}
