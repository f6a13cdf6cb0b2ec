// Hybrid test cycles: manual and automated items in one cycle; the summary and status follow item
// updates and the automated items' runs (through the real agent protocol); external CI cycles show too.
import { describe, expect, it } from 'vitest';
import { addMember, agentApi, api, createApiKey, createProject, poll, registerAgent, signup, type Org } from './helpers';

async function testCase(org: Org, projectId: string, body: Record<string, unknown>) {
  const res = await api('POST', '/api/test-cases', { token: org.token, body: { projectId, ...body } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data as { id: string; title: string };
}

async function createCycle(org: Org, projectId: string, items: Array<{ testCaseId: string; type?: string }>, name = 'Release 1.4') {
  const res = await api('POST', '/api/test-cycles', { token: org.token, body: { projectId, name, items } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data;
}

const getCycle = async (org: Org, id: string) => (await api('GET', `/api/test-cycles/${id}`, { token: org.token })).json.data;
const mark = (org: Org, cycleId: string, itemId: string, body: Record<string, unknown>) =>
  api('PATCH', `/api/test-cycles/${cycleId}/items/${itemId}`, { token: org.token, body });

describe('test cycles', () => {
  it('follows manual item updates in its summary and status, from PENDING through RUNNING to COMPLETED', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const cases = [];
    for (const title of ['Login works', 'Cart keeps items', 'Checkout with card', 'Refund']) cases.push(await testCase(org, project.id, { title }));
    const cycle = await createCycle(
      org,
      project.id,
      cases.map((c) => ({ testCaseId: c.id })),
    );
    expect(cycle.status).toBe('PENDING');
    expect(cycle.summary).toEqual({ total: 4, passed: 0, failed: 0, blocked: 0, skipped: 0, pending: 4 });
    expect(cycle.items.map((i: any) => i.title)).toEqual(['Login works', 'Cart keeps items', 'Checkout with card', 'Refund']);
    const [a, b, c, d] = cycle.items;

    const first = await mark(org, cycle.id, a.id, { status: 'passed', notes: 'ok on Firefox' });
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.data.status).toBe('RUNNING');
    expect(first.json.data.summary).toEqual({ total: 4, passed: 1, failed: 0, blocked: 0, skipped: 0, pending: 3 });
    expect(first.json.data.items[0]).toMatchObject({ status: 'PASSED', notes: 'ok on Firefox', updatedBy: org.userId });

    await mark(org, cycle.id, b.id, { status: 'FAILED', notes: 'item vanished after reload' });
    await mark(org, cycle.id, c.id, { status: 'blocked' });
    const done = await mark(org, cycle.id, d.id, { status: 'skipped' });
    expect(done.json.data.status).toBe('COMPLETED');
    expect(done.json.data.summary).toEqual({ total: 4, passed: 1, failed: 1, blocked: 1, skipped: 1, pending: 0 });

    // Re-opening an item re-opens the cycle.
    const reopened = await mark(org, cycle.id, c.id, { status: 'pending', notes: 'retry after fix' });
    expect(reopened.json.data).toMatchObject({ status: 'RUNNING', summary: { blocked: 0, pending: 1 } });
    expect((await getCycle(org, cycle.id)).summary.pending).toBe(1);
  });

  it("runs a cycle's automated items through real runs next to its manual items, and the items follow the runs", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const manual = await testCase(org, project.id, { title: 'Visual check of invoice PDF' });
    const autoPass = await testCase(org, project.id, { title: 'API smoke', type: 'automated', automatedTest: 'tests/smoke.spec.ts' });
    const autoFail = await testCase(org, project.id, { title: 'Checkout e2e', type: 'automated', automatedTest: 'tests/checkout.spec.ts' });
    const cycle = await createCycle(org, project.id, [{ testCaseId: manual.id }, { testCaseId: autoPass.id }, { testCaseId: autoFail.id }]);
    expect(cycle.items.map((i: any) => i.type)).toEqual(['manual', 'automated', 'automated']);

    // An automated item's status is its run's, not a tester's.
    const refused = await mark(org, cycle.id, cycle.items[1].id, { status: 'PASSED' });
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('AUTOMATED_ITEM');

    const run = await api('POST', `/api/test-cycles/${cycle.id}/run`, { token: org.token, body: { environment: 'qa' } });
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    expect(run.json.data.started).toHaveLength(2);
    expect(run.json.data.cycle).toMatchObject({ status: 'RUNNING', summary: { total: 3, pending: 3 } });
    const taskOf = (itemId: string) => run.json.data.started.find((s: any) => s.itemId === itemId).taskId as string;
    const passTask = taskOf(cycle.items[1].id);
    const failTask = taskOf(cycle.items[2].id);
    const exec = (await api('GET', `/api/executions/${passTask}`, { token: org.token })).json.data;
    expect(exec).toMatchObject({ trigger: 'cycle', cycleId: cycle.id, cycleItemId: cycle.items[1].id, environment: 'qa', tests: ['tests/smoke.spec.ts'] });
    // Running again while both run is refused.
    expect((await api('POST', `/api/test-cycles/${cycle.id}/run`, { token: org.token, body: {} })).json.code).toBe('ALREADY_RUNNING');

    // The agent takes both jobs and ends them: one passes, one fails.
    const jobs = [await poll(agent, 1000), await poll(agent, 1000)];
    expect(jobs.map((j) => j?.taskId).sort()).toEqual([passTask, failTask].sort());
    expect(jobs.find((j) => j?.taskId === passTask)?.tests).toEqual(['tests/smoke.spec.ts']);
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${passTask}/complete`, { status: 'PASSED', exitCode: 0 })).status).toBe(200);
    let now = await getCycle(org, cycle.id);
    expect(now.items[1]).toMatchObject({ status: 'PASSED', taskId: passTask });
    expect(now.summary).toEqual({ total: 3, passed: 1, failed: 0, blocked: 0, skipped: 0, pending: 2 });
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${failTask}/complete`, { status: 'FAILED', exitCode: 1 })).status).toBe(200);
    now = await getCycle(org, cycle.id);
    expect(now.items[2]).toMatchObject({ status: 'FAILED', taskId: failTask });
    expect(now).toMatchObject({ status: 'RUNNING', summary: { passed: 1, failed: 1, pending: 1 } });

    // The tester finishes the manual item: the cycle completes.
    const last = await mark(org, cycle.id, cycle.items[0].id, { status: 'passed' });
    expect(last.json.data).toMatchObject({ status: 'COMPLETED', summary: { total: 3, passed: 2, failed: 1, blocked: 0, skipped: 0, pending: 0 } });
  });

  it('sets an automated item CANCELLED when its run is cancelled', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const auto = await testCase(org, project.id, { title: 'Nightly e2e', type: 'automated' });
    const cycle = await createCycle(org, project.id, [{ testCaseId: auto.id }]);
    const run = await api('POST', `/api/test-cycles/${cycle.id}/run`, { token: org.token, body: {} });
    const taskId = run.json.data.started[0].taskId;
    expect((await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token })).status).toBe(200);
    const now = await getCycle(org, cycle.id);
    expect(now.items[0].status).toBe('CANCELLED');
    expect(now).toMatchObject({ status: 'COMPLETED', summary: { skipped: 1, pending: 0 } });
  });

  it("refuses bad input clearly, keeps viewers read-only and hides other organizations' cycles", async () => {
    const org = await signup();
    const other = await signup();
    const viewer = await addMember(org, 'viewer');
    const project = await createProject(org.token);
    const tc = await testCase(org, project.id, { title: 'x' });
    const foreignCase = await testCase(other, (await createProject(other.token)).id, { title: 'theirs' });
    const unknown = await api('POST', '/api/test-cycles', {
      token: org.token,
      body: { projectId: project.id, name: 'c', items: [{ testCaseId: foreignCase.id }] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe('UNKNOWN_TEST_CASE');
    expect((await api('POST', '/api/test-cycles', { token: org.token, body: { projectId: project.id, name: 'c', items: [] } })).status).toBe(400);
    const cycle = await createCycle(org, project.id, [{ testCaseId: tc.id }]);
    const badStatus = await mark(org, cycle.id, cycle.items[0].id, { status: 'maybe' });
    expect(badStatus.status).toBe(400);
    expect(badStatus.json.code).toBe('VALIDATION_ERROR');
    expect((await mark(viewer, cycle.id, cycle.items[0].id, { status: 'passed' })).status).toBe(403);
    expect((await api('GET', `/api/test-cycles/${cycle.id}`, { token: viewer.token })).status).toBe(200);
    expect((await api('GET', `/api/test-cycles/${cycle.id}`, { token: other.token })).status).toBe(404);
    expect((await mark(other, cycle.id, cycle.items[0].id, { status: 'passed' })).status).toBe(404);
    const noAuto = await api('POST', `/api/test-cycles/${cycle.id}/run`, { token: org.token, body: {} });
    expect(noAuto.status).toBe(409);
    expect(noAuto.json.code).toBe('NO_AUTOMATED_ITEMS');
  });

  it('lists cycles created by the ingest API (external CI) next to its own, read-only', async () => {
    const org = await signup();
    const apiKey = await createApiKey(org);
    const project = await createProject(org.token);
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey,
      body: { projectId: project.id, reporterVersion: '0.1.0', framework: 'playwright', totalTests: 3, runName: 'GitHub main #42' },
    });
    expect(setup.status, JSON.stringify(setup.json)).toBe(201);
    const tc = await testCase(org, project.id, { title: 'manual one' });
    await createCycle(org, project.id, [{ testCaseId: tc.id }], 'Manual regression');
    const list = await api('GET', `/api/test-cycles?projectId=${project.id}`, { token: org.token });
    expect(list.json.data.map((c: any) => [c.name, c.source])).toEqual(
      expect.arrayContaining([
        ['GitHub main #42', 'external-ci'],
        ['Manual regression', 'manual'],
      ]),
    );
    const external = await getCycle(org, setup.json.data.cycleId);
    expect(external).toMatchObject({ source: 'external-ci', status: 'RUNNING', taskId: setup.json.data.taskId });
    expect(external.items).toHaveLength(1);
    expect((await api('POST', `/api/test-cycles/${external.id}/run`, { token: org.token, body: {} })).json.code).toBe('EXTERNAL_CYCLE');
    const onlyCi = await api('GET', '/api/test-cycles?source=external-ci', { token: org.token });
    expect(onlyCi.json.data.map((c: any) => c.id)).toEqual([external.id]);
  });
});
