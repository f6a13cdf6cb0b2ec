// A run's per-test results live in its room and, once it ends, in an R2 archive: the API answers the
// same from either, for both paths (agent and ingest), and the archive is no artifact of the run.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { dbOf, roomOf } from '../../worker/bindings';
import { executions } from '../../worker/db/schema';
import { purgeRuns, purgeTarget } from '../../worker/services/purge-runs';
import { readResultsArchive, resultsArchiveKey } from '../../worker/services/run-results';
import { api, createApiKey, createProject, signup } from './helpers';
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
