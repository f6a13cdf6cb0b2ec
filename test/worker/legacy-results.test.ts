// The migration of test_results on a database holding runs of both paths (an agent run and an ingest
// run), as they were stored before: a D1 row per test per run, no aggregates, no archive. Migrated in
// bounded batches, it answers the same through the API, leaves no row behind, and a second pass changes nothing.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dbOf, roomOf } from '../../worker/bindings';
import { fingerprintOfResult } from '../../worker/services/fingerprint';
import { migrateLegacyResults } from '../../worker/services/legacy-results';
import { readResultsArchive, resultsArchiveKey } from '../../worker/services/run-results';
import { api } from './helpers';
import { lab, recordRun } from './insights-helpers';

const count = async (sql: string, ...args: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...args)
      .first<{ n: number }>()
  )?.n;

/** What the old code left in D1 for a run: its results as test_results rows (fingerprints, the run's project). */
async function makeLegacy(organizationId: string, projectId: string, taskId: string, tests: any[]) {
  const run = await env.DB.prepare('SELECT finished_at FROM executions WHERE task_id = ?').bind(taskId).first<{ finished_at: number }>();
  const insert = env.DB.prepare(
    `INSERT INTO test_results (id, organization_id, project_id, task_id, test_id, title, file, suite, status, duration_ms, retry, error_message,
       error_stack, error_location, attachments, started_at, created_at, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  await env.DB.batch([
    ...tests.map((t) =>
      insert.bind(
        crypto.randomUUID(),
        organizationId,
        projectId,
        taskId,
        t.testId,
        t.title,
        t.file ?? null,
        t.suite ?? null,
        t.status,
        t.durationMs ?? 0,
        t.retry ?? 0,
        t.error?.message ?? null,
        t.error?.stack ?? null,
        t.error?.location ?? null,
        t.attachments ? JSON.stringify(t.attachments) : null,
        t.startedAt ?? null,
        run!.finished_at,
        fingerprintOfResult(t),
      ),
    ),
    env.DB.prepare('UPDATE executions SET results_folded_at = NULL WHERE task_id = ?').bind(taskId),
  ]);
  await env.ARTIFACTS.delete(resultsArchiveKey({ organizationId, taskId }));
}

/** Insights without the instants (the migration folds a run at when its rows were stored, not when it ended: the same day). */
const insightsOf = async (token: string, projectId: string) => {
  const data = (await api('GET', `/api/insights/projects/${projectId}?days=30`, { token })).json.data;
  const strip = (list: any[]) => list.map(({ lastFailedAt, lastRunAt, ...rest }) => rest);
  return { totals: data.totals, slowest: strip(data.slowestTests), mostFailing: strip(data.mostFailing), flaky: strip(data.flaky) };
};

describe('migration of test_results', () => {
  it('moves runs of both paths into R2 and the aggregates, in bounded batches, resumable and idempotent', async () => {
    const l = await lab();
    const agentRun = await recordRun(
      l,
      [
        { title: 'logs in', file: 'a.spec.ts', status: 'failed', error: 'Timeout 3000ms exceeded' },
        { title: 'logs in', file: 'a.spec.ts', status: 'passed', retry: 1 },
        { title: 'pays', file: 'b.spec.ts', status: 'failed', error: 'expected 1 to be 2', durationMs: 40 },
      ],
      { commit: 'c1' },
    );
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: l.apiKey,
      body: { projectId: l.project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 2 },
    });
    const { sessionId, taskId: ingestTask } = setup.json.data;
    const event = (n: number, title: string, status: string, error?: string) => ({
      type: 'test-end',
      testId: `i${n}`,
      title,
      file: n === 1 ? 'b.spec.ts' : 'c.spec.ts',
      status,
      duration: 10 * n,
      timestamp: Date.now(),
      seq: n,
      retry: 0,
      ...(error ? { error } : {}),
    });
    expect(
      (
        await api('POST', '/api/ingest/event', {
          apiKey: l.apiKey,
          body: { sessionId, events: [event(1, 'pays', 'failed', 'expected 3 to be 4'), event(2, 'ships', 'passed')] },
        })
      ).status,
    ).toBe(200);
    const teardown = await api('POST', '/api/ingest/teardown', {
      apiKey: l.apiKey,
      body: { sessionId, status: 'FAILED', summary: { total: 2, passed: 1, failed: 1, skipped: 0, duration: 30 } },
    });
    expect(teardown.status, JSON.stringify(teardown.json)).toBe(200);

    const taskIds = [agentRun.taskId, ingestTask as string];
    const readTests = async (taskId: string) => (await api('GET', `/api/executions/${taskId}/tests`, { token: l.org.token })).json.data;
    const readFailures = async (taskId: string) =>
      (await api('GET', `/api/insights/executions/${taskId}/failures`, { token: l.org.token })).json.data.failures.map(({ history, ...f }: any) => ({
        ...f,
        history: history && { occurrences: history.occurrences, runs: history.runs, projects: history.projects, firstTaskId: history.firstTaskId },
      }));
    const before = {
      tests: await Promise.all(taskIds.map(readTests)),
      failures: await Promise.all(taskIds.map(readFailures)),
      insights: await insightsOf(l.org.token, l.project.id),
    };
    expect(before.insights.mostFailing.map((t: any) => [t.title, t.failures])).toEqual(
      expect.arrayContaining([
        ['pays', 2],
        ['logs in', 1],
      ]),
    );

    // The database as the old code left it: rows per result, no aggregates, no archives; the agent run's room is gone.
    for (const [i, taskId] of taskIds.entries()) await makeLegacy(l.org.organizationId, l.project.id, taskId, before.tests[i]);
    await env.DB.batch([
      env.DB.prepare('DELETE FROM test_daily WHERE organization_id = ?').bind(l.org.organizationId),
      env.DB.prepare('DELETE FROM fingerprint_daily WHERE organization_id = ?').bind(l.org.organizationId),
    ]);
    await roomOf(env, agentRun.taskId).purge();
    const rows = () => count('SELECT count(*) AS n FROM test_results WHERE organization_id = ?', l.org.organizationId);
    expect(await rows()).toBe(5);
    // Until it is migrated, a run whose room is gone is read from its rows.
    expect(await readTests(agentRun.taskId)).toEqual(before.tests[0]);

    // Bounded: one run per pass here; other orgs' leftover rows (none in this file) would take their turn.
    const db = dbOf(env);
    const first = await migrateLegacyResults(env, db, 1);
    expect(first).toHaveLength(1);
    expect(await rows()).toBe(first[0] === agentRun.taskId ? 2 : 3);
    const second = await migrateLegacyResults(env, db, 1);
    expect([...first, ...second].sort()).toEqual([...taskIds].sort());
    expect(await rows()).toBe(0);
    expect(await migrateLegacyResults(env, db)).toEqual([]);

    for (const [i, taskId] of taskIds.entries()) {
      expect(await readResultsArchive(env, { organizationId: l.org.organizationId, taskId })).toEqual(before.tests[i]);
      expect(await readTests(taskId)).toEqual(before.tests[i]);
      expect(await readFailures(taskId)).toEqual(before.failures[i]);
    }
    expect(await insightsOf(l.org.token, l.project.id)).toEqual(before.insights);

    // Idempotent: a run folded already is not folded again, even if its rows came back.
    const daily = async () =>
      (await env.DB.prepare('SELECT * FROM test_daily WHERE organization_id = ? ORDER BY test_key').bind(l.org.organizationId).all()).results;
    const folded = await daily();
    await env.DB.prepare(
      "INSERT INTO test_results (id, organization_id, project_id, task_id, test_id, title, status, created_at) VALUES ('again', ?, ?, ?, 'x', 'pays', 'failed', 1)",
    )
      .bind(l.org.organizationId, l.project.id, agentRun.taskId)
      .run();
    expect(await migrateLegacyResults(env, db)).toEqual([agentRun.taskId]);
    expect(await daily()).toEqual(folded);
    expect(await rows()).toBe(0);
    expect(await readTests(agentRun.taskId)).toEqual(before.tests[0]);
  });
});
