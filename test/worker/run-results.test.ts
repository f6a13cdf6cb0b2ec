// A run's per-test results live in its room and, once it ends, in an R2 archive: the API answers the
// same from either, for both paths (agent and ingest), and the archive is no artifact of the run. D1
// keeps the per-day aggregates, folded in once per run.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { dbOf, roomOf } from '../../worker/bindings';
import { executions } from '../../worker/db/schema';
import { purgeRuns, purgeTarget } from '../../worker/services/purge-runs';
import { readResultsArchive, resultsArchiveKey } from '../../worker/services/run-results';
import { foldRunStatements } from '../../worker/services/test-aggregates';
import { agentApi, api, createApiKey, createProject, poll, registerAgent, signup } from './helpers';
import { lab, recordRun } from './insights-helpers';

const tests = (taskId: string, token: string) => api('GET', `/api/executions/${taskId}/tests`, { token });

describe('run results: room, then R2 archive', () => {
  it('an agent run: archived at its end, served from R2 once its room is purged', async () => {
    const l = await lab();
    const { taskId } = await recordRun(l, [
      { title: 'logs in', file: 'a.spec.ts', status: 'failed', error: 'expected 1 to be 2' },
      { title: 'logs in', file: 'a.spec.ts', status: 'passed', retry: 1 },
      { title: 'checks out', file: 'b.spec.ts', status: 'passed' },
    ]);
    const live = (await tests(taskId, l.org.token)).json.data;
    expect(live).toHaveLength(3);
    const run = { organizationId: l.org.organizationId, taskId };
    expect(await readResultsArchive(env, run)).toEqual(live);
    await roomOf(env, taskId).purge();
    expect(await roomOf(env, taskId).readTests()).toEqual([]);
    expect((await tests(taskId, l.org.token)).json.data).toEqual(live);
    // The failing attempts (with their fingerprints) come from the archive too.
    const failures = (await api('GET', `/api/insights/executions/${taskId}/failures`, { token: l.org.token })).json.data;
    expect(failures.failures).toEqual([
      expect.objectContaining({ title: 'logs in', status: 'failed', errorMessage: 'expected 1 to be 2', fingerprint: expect.any(String) }),
    ]);
    // The archive is the API's /tests, not one of the run's artifacts; the run's purge deletes it.
    expect((await env.ARTIFACTS.head(resultsArchiveKey(run)))?.size).toBeGreaterThan(0);
    expect((await api('GET', `/api/executions/${taskId}/artifacts`, { token: l.org.token })).json.data).toEqual([]);
    const [row] = await dbOf(env).select().from(executions).where(eq(executions.taskId, taskId));
    expect(await purgeRuns(env, dbOf(env), [purgeTarget(row!)])).toEqual([taskId]);
    expect(await env.ARTIFACTS.head(resultsArchiveKey(run))).toBeNull();
  });

  it('an ingest run: the teardown masks the results afresh, and the archive holds what the API returns', async () => {
    const org = await signup();
    const key = await createApiKey(org);
    const project = await createProject(org.token);
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: key,
      body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 2 },
    });
    expect(setup.status, JSON.stringify(setup.json)).toBe(201);
    const { sessionId, taskId } = setup.json.data;
    const event = (n: number, status: string) => ({
      type: 'test-end',
      testId: `t${n}`,
      title: `test ${n}`,
      file: 'a.spec.ts',
      status,
      duration: 10 + n,
      timestamp: 1_700_000_000_000 + n,
      seq: n,
      retry: 0,
      ...(status === 'failed' ? { error: `broken ${n}` } : {}),
    });
    const sent = await api('POST', '/api/ingest/event', { apiKey: key, body: { sessionId, events: [event(1, 'passed'), event(2, 'failed')] } });
    expect(sent.status, JSON.stringify(sent.json)).toBe(200);
    const done = await api('POST', '/api/ingest/teardown', {
      apiKey: key,
      body: { sessionId, status: 'FAILED', summary: { total: 2, passed: 1, failed: 1, skipped: 0, duration: 100 } },
    });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    const live = (await tests(taskId, org.token)).json.data;
    expect(live.map((t: { testId: string; status: string }) => [t.testId, t.status])).toEqual([
      ['t1', 'passed'],
      ['t2', 'failed'],
    ]);
    expect(await readResultsArchive(env, { organizationId: org.organizationId, taskId })).toEqual(live);
    await roomOf(env, taskId).purge();
    expect((await tests(taskId, org.token)).json.data).toEqual(live);
  });
});

describe('daily aggregates (test_daily, fingerprint_daily)', () => {
  it('two runs of one project ending together both count, and a run is folded in once', async () => {
    const l = await lab();
    const agent2 = await registerAgent(l.org);
    const trigger = async () => (await api('POST', '/api/ci/trigger', { apiKey: l.apiKey, body: { projectId: l.project.id } })).json.data.taskId as string;
    const [a, b] = [await trigger(), await trigger()];
    const jobs = [await poll(l.agent, 0), await poll(agent2, 0)];
    expect(jobs.map((j) => j?.taskId).sort()).toEqual([a, b].sort());
    const complete = (agent: typeof l.agent, taskId: string, status: 'passed' | 'failed') =>
      agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
        status: status === 'failed' ? 'FAILED' : 'PASSED',
        exitCode: status === 'failed' ? 1 : 0,
        tests: [
          { testId: 't', title: 'shared', file: 's.spec.ts', status, durationMs: 10, retry: 0, ...(status === 'failed' ? { error: { message: 'nope' } } : {}) },
        ],
      });
    const done = await Promise.all([complete(l.agent, jobs[0]!.taskId, 'passed'), complete(agent2, jobs[1]!.taskId, 'failed')]);
    expect(done.map((d) => d.status)).toEqual([200, 200]);
    const daily = () =>
      env.DB.prepare('SELECT runs, passed, failed, failures, flips, duration_sum FROM test_daily WHERE organization_id = ? AND project_id = ?')
        .bind(l.org.organizationId, l.project.id)
        .all();
    expect((await daily()).results).toEqual([{ runs: 2, passed: 1, failed: 1, failures: 1, flips: 1, duration_sum: 20 }]);
    // Folding the same run again (a retried complete, a migration pass) changes nothing.
    const before = (await daily()).results;
    const db = dbOf(env);
    await db.batch(
      foldRunStatements(db, { organizationId: l.org.organizationId, taskId: a }, [
        { testId: 't', title: 'shared', file: 's.spec.ts', status: 'passed', durationMs: 10, retry: 0 },
      ]) as unknown as Parameters<typeof db.batch>[0],
    );
    expect((await daily()).results).toEqual(before);
    const fp = await env.DB.prepare('SELECT occurrences, runs FROM fingerprint_daily WHERE organization_id = ?').bind(l.org.organizationId).all();
    expect(fp.results).toEqual([{ occurrences: 1, runs: 1 }]);
  });
});
