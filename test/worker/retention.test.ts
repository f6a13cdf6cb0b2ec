// Data retention: the cron handler deletes finished runs older than their org's current retention
// (D1 rows, R2 objects, the room), in bounded batches, and nothing else: not another org's runs, not
// unexpired or active ones. Runs are made through the real paths (agent protocol, ingest, cycles),
// then aged by moving their timestamps back in D1.
import { runResults } from '../../worker/services/run-results';
import { createScheduledController, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import { scheduled } from '../../worker/cron';
import * as schema from '../../worker/db/schema';
import { PLANS, type PlanName } from '../../worker/services/plans';
import { purgeRuns, type PurgeTarget } from '../../worker/services/purge-runs';
import { expiredRunsQuery, retentionBatchRuns } from '../../worker/services/retention';
import { agentApi, api, createApiKey, createProject, poll, registerAgent, signup, type Org, type TestAgent } from './helpers';

const DAY = 86_400_000;
const tick = () => scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env);
const room = (taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId));
const count = async (sql: string, ...args: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...args)
    .first<{ n: number }>())!.n;

type Lab = { org: Org; apiKey: string; agent: TestAgent; projectId: string };
async function lab(plan: PlanName = 'free'): Promise<Lab> {
  const org = await signup();
  await setPlan(org, plan);
  return { org, apiKey: await createApiKey(org), agent: await registerAgent(org), projectId: (await createProject(org.token)).id };
}

const setPlan = (org: Org, plan: PlanName) =>
  env.DB.prepare('UPDATE organizations SET plan = ?, limits = ? WHERE id = ?').bind(plan, JSON.stringify(PLANS[plan].limits), org.organizationId).run();

/** Moves a run's whole life `days` back. */
async function age(taskId: string, days: number) {
  const at = Date.now() - days * DAY;
  await env.DB.batch([
    env.DB.prepare('UPDATE executions SET created_at = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE task_id = ?').bind(
      at - 60_000,
      at - 60_000,
      at,
      at,
      taskId,
    ),
    // Its results were folded into the day it ended: the aggregate rows this run alone made move to that day.
    env.DB.prepare('UPDATE test_daily SET day = ? WHERE last_task_id = ? AND runs = 1').bind(Math.floor(at / DAY), taskId),
    env.DB.prepare('UPDATE fingerprint_daily SET day = ? WHERE last_task_id = ? AND runs = 1').bind(Math.floor(at / DAY), taskId),
  ]);
}

/** The agent takes `taskId`, streams a log line, uploads an artifact and completes with `tests`. */
async function agentRun(l: Lab, taskId: string, tests: Array<{ title: string; status: 'passed' | 'failed' }>) {
  expect((await poll(l.agent, 0))?.taskId).toBe(taskId);
  await agentApi(l.agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, stream: 'stdout', data: `log of ${taskId}\n` }] });
  const put = await api('PUT', `/api/agent/jobs/${taskId}/artifacts?path=report/index.html`, {
    headers: { authorization: `Bearer ${l.agent.token}`, 'content-type': 'text/html' },
    rawBody: '<h1>report</h1>',
  });
  expect(put.status, JSON.stringify(put.json)).toBe(201);
  const failed = tests.some((t) => t.status === 'failed');
  const done = await agentApi(l.agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
    status: failed ? 'FAILED' : 'PASSED',
    exitCode: failed ? 1 : 0,
    durationMs: 1000,
    tests: tests.map((t) => ({
      testId: `spec::${t.title}`,
      title: t.title,
      file: 'spec.ts',
      status: t.status,
      retry: 0,
      durationMs: 10,
      ...(t.status === 'failed' ? { error: { message: 'expected 1 to be 2' } } : {}),
    })),
  });
  expect(done.status, JSON.stringify(done.json)).toBe(200);
  return taskId;
}

async function ciRun(l: Lab, tests: Array<{ title: string; status: 'passed' | 'failed' }>) {
  const trigger = await api('POST', '/api/ci/trigger', { apiKey: l.apiKey, body: { projectId: l.projectId } });
  expect(trigger.status, JSON.stringify(trigger.json)).toBe(201);
  return agentRun(l, trigger.json.data.taskId, tests);
}

/** A reporter run through the ingest API: its own cycle and session, a log, a result with an attachment. */
async function ingestRun(l: Lab) {
  const setup = await api('POST', '/api/ingest/setup', {
    apiKey: l.apiKey,
    body: { projectId: l.projectId, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runName: 'nightly' },
  });
  expect(setup.status, JSON.stringify(setup.json)).toBe(201);
  const { sessionId, taskId, cycleId } = setup.json.data as { sessionId: string; taskId: string; cycleId: string };
  const ts = Date.now();
  const event = await api('POST', '/api/ingest/event', {
    apiKey: l.apiKey,
    body: {
      sessionId,
      events: [
        { type: 'log', chunk: 'reporter says hi\n', timestamp: ts },
        {
          type: 'test-end',
          testId: 't1',
          title: 'ingested test',
          file: 'b.spec.ts',
          status: 'failed',
          duration: 5,
          error: 'boom',
          timestamp: ts,
          seq: 1,
          retry: 0,
        },
      ],
    },
  });
  expect(event.status, JSON.stringify(event.json)).toBe(200);
  const attachment = await api('POST', `/api/ingest/attachment?sessionId=${encodeURIComponent(sessionId)}&testId=t1&name=shot.png`, {
    apiKey: l.apiKey,
    rawBody: 'png bytes',
    headers: { 'content-type': 'image/png' },
  });
  expect(attachment.status, JSON.stringify(attachment.json)).toBe(201);
  const teardown = await api('POST', '/api/ingest/teardown', {
    apiKey: l.apiKey,
    body: { sessionId, status: 'FAILED', summary: { total: 1, passed: 0, failed: 1, skipped: 0, duration: 5 } },
  });
  expect(teardown.status, JSON.stringify(teardown.json)).toBe(200);
  return { taskId, cycleId };
}

/** A manual test cycle with one automated item, run by the agent. */
async function cycleRun(l: Lab) {
  const tc = await api('POST', '/api/test-cases', {
    token: l.org.token,
    body: { projectId: l.projectId, title: 'Checkout e2e', type: 'automated', automatedTest: 'checkout.spec.ts' },
  });
  const cycle = await api('POST', '/api/test-cycles', {
    token: l.org.token,
    body: { projectId: l.projectId, name: 'Release 2', items: [{ testCaseId: tc.json.data.id }] },
  });
  expect(cycle.status, JSON.stringify(cycle.json)).toBe(201);
  const started = await api('POST', `/api/test-cycles/${cycle.json.data.id}/run`, { token: l.org.token, body: {} });
  expect(started.status, JSON.stringify(started.json)).toBe(201);
  const taskId = await agentRun(l, started.json.data.started[0].taskId, [
    { title: 'checkout pays', status: 'failed' },
    { title: 'cart keeps items', status: 'passed' },
  ]);
  return { taskId, cycleId: cycle.json.data.id as string };
}

/** Where a run's data lives: the API, D1, R2 and its room. */
async function stored(org: Org, taskId: string) {
  return {
    api: (await api('GET', `/api/executions/${taskId}`, { token: org.token })).status,
    rows: await count('SELECT count(*) AS n FROM executions WHERE task_id = ?', taskId),
    // The run's results: its room's, else its R2 archive's (D1 has no row per result).
    results: (await runResults(env, { organizationId: org.organizationId, taskId })).length,
    objects: (await env.ARTIFACTS.list({ prefix: `${org.organizationId}/${taskId}/` })).objects.length,
    log: (await room(taskId).readLogs()).chunks.length,
  };
}
const GONE = { api: 404, rows: 0, results: 0, objects: 0, log: 0 };
const kept = { api: 200, rows: 1, results: expect.any(Number), objects: expect.any(Number), log: expect.any(Number) };

describe('retention', () => {
  it("deletes an org's expired runs everywhere, leaves other runs alone, and every history page still answers", async () => {
    const a = await lab('free'); // 30 days
    const b = await lab('team'); // 90 days
    const viaCycle = await cycleRun(a);
    const viaIngest = await ingestRun(a);
    const fresh = await ciRun(a, [{ title: 'cart keeps items', status: 'passed' }]);
    const theirs = await ciRun(b, [{ title: 'b test', status: 'passed' }]);
    const active = (await api('POST', '/api/execution-request', { token: a.org.token, body: { projectId: a.projectId } })).json.data.taskId as string;
    for (const taskId of [viaCycle.taskId, viaIngest.taskId, theirs]) await age(taskId, 40);
    await age(active, 400); // queued long ago and never taken: not final, so never expires
    await env.DB.prepare("UPDATE executions SET status = 'PENDING' WHERE task_id = ?").bind(active).run();
    for (const [org, taskId] of [
      [a.org, viaCycle.taskId],
      [b.org, theirs],
    ] as const) {
      await env.DB.prepare("INSERT INTO notifications (id, organization_id, task_id, channel, status) VALUES (?, ?, ?, 'slack', 'sent')")
        .bind(crypto.randomUUID(), org.organizationId, taskId)
        .run();
    }
    const insightsBefore = (await api('GET', `/api/insights/projects/${a.projectId}?days=90`, { token: a.org.token })).json.data;
    expect(insightsBefore.totals.runs).toBe(3);
    expect(insightsBefore.mostFailing.map((t: any) => t.title)).toContain('checkout pays');
    for (const taskId of [viaCycle.taskId, viaIngest.taskId]) {
      expect(await stored(a.org, taskId)).toMatchObject({
        api: 200,
        rows: 1,
        results: expect.toSatisfy((n: number) => n > 0),
        objects: 1,
        log: expect.toSatisfy((n: number) => n > 0),
      });
    }

    await tick();

    expect(await stored(a.org, viaCycle.taskId)).toEqual(GONE);
    expect(await stored(a.org, viaIngest.taskId)).toEqual(GONE);
    expect(await stored(a.org, fresh)).toMatchObject({ ...kept, results: 1, objects: 1 });
    expect(await stored(b.org, theirs)).toMatchObject({ ...kept, results: 1, objects: 1 });
    expect((await api('GET', `/api/executions/${active}`, { token: a.org.token })).json.data.status).toBe('PENDING');
    expect(await count('SELECT count(*) AS n FROM notifications WHERE task_id = ?', viaCycle.taskId)).toBe(0);
    expect(await count('SELECT count(*) AS n FROM notifications WHERE task_id = ?', theirs)).toBe(1);
    expect(await count('SELECT count(*) AS n FROM ingest_sessions WHERE task_id = ?', viaIngest.taskId)).toBe(0);
    expect(await runInDurableObject(room(viaCycle.taskId), (_i, state) => state.storage.getAlarm())).toBeNull();

    // The manual cycle keeps its item's outcome and summary, without a link to a run that is gone;
    // the cycle the reporter created for its run went with the run.
    const cycle = await api('GET', `/api/test-cycles/${viaCycle.cycleId}`, { token: a.org.token });
    expect(cycle.status).toBe(200);
    expect(cycle.json.data.items).toEqual([expect.objectContaining({ status: 'FAILED', taskId: null })]);
    expect(cycle.json.data.summary).toMatchObject({ total: 1, failed: 1 });
    expect((await api('GET', `/api/test-cycles/${viaIngest.cycleId}`, { token: a.org.token })).status).toBe(404);

    // Pages that aggregate history answer, and count only what is kept.
    const insights = await api('GET', `/api/insights/projects/${a.projectId}?days=90`, { token: a.org.token });
    expect(insights.status).toBe(200);
    expect(insights.json.data.totals.runs).toBe(1);
    expect(insights.json.data.mostFailing).toEqual([]);
    for (const path of [
      `/api/insights/projects/${a.projectId}/flaky`,
      '/api/insights/fingerprints?days=90',
      `/api/metrics/${encodeURIComponent('agnox/busybox:test')}?days=90`,
      `/api/test-cases?projectId=${a.projectId}`,
      '/api/test-cycles',
      '/api/executions',
      '/api/usage',
      `/api/insights/executions/${fresh}/failures`,
    ])
      expect((await api('GET', path, { token: a.org.token })).status, path).toBe(200);
    const list = (await api('GET', '/api/executions', { token: a.org.token })).json.data.items.map((e: any) => e.taskId);
    expect(list.sort()).toEqual([active, fresh].sort());

    // Nothing left to do: the next tick changes nothing.
    await tick();
    expect(await stored(a.org, fresh)).toMatchObject({ ...kept, results: 1, objects: 1 });
  });

  it("follows the org's current plan: an upgrade keeps a run (and its room's alarm re-arms), a downgrade expires it", async () => {
    const l = await lab('free');
    const taskId = await ciRun(l, [{ title: 'one', status: 'passed' }]);
    await age(taskId, 40);
    await setPlan(l.org, 'team');
    await tick();
    expect(await stored(l.org, taskId)).toMatchObject({ ...kept, results: 1, objects: 1, log: expect.toSatisfy((n: number) => n > 0) });
    // The alarm finish() set for the free plan's 30 days fires: the run now expires at 90 days, so the log stays.
    expect(await runDurableObjectAlarm(room(taskId))).toBe(true);
    expect((await room(taskId).readLogs()).chunks.length).toBeGreaterThan(0);
    const finishedAt = (await env.DB.prepare('SELECT finished_at AS t FROM executions WHERE task_id = ?').bind(taskId).first<{ t: number }>())!.t;
    expect(await runInDurableObject(room(taskId), (_i, state) => state.storage.getAlarm())).toBe(finishedAt + 90 * DAY);

    await setPlan(l.org, 'free');
    await tick();
    expect(await stored(l.org, taskId)).toEqual(GONE);
  });

  it('a purge stopped halfway is finished by the next tick (R2 keys deleted 1,000 per call)', async () => {
    const l = await lab('free');
    const taskId = await ciRun(l, [{ title: 'one', status: 'passed' }]);
    await age(taskId, 31);
    const prefix = `${l.org.organizationId}/${taskId}/`;
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => env.ARTIFACTS.put(`${prefix}trace/${i}.zip`, 'z')));
    expect((await env.ARTIFACTS.list({ prefix, limit: 1000 })).truncated).toBe(true); // 1,001 objects
    const target: PurgeTarget = { taskId, organizationId: l.org.organizationId, source: 'agnox-hosted', cycleId: null, cycleItemId: null, sessionId: null };
    // A budget of one R2 call: one list and its delete, then it stops with the run's row still there.
    expect(await purgeRuns(env, drizzle(env.DB, { schema }), [target], { r2Calls: 1, resultRows: 1_000 })).toEqual([]);
    expect(await stored(l.org, taskId)).toMatchObject({ api: 200, rows: 1, results: 1, objects: 1, log: 0 });
    await tick();
    expect(await stored(l.org, taskId)).toEqual(GONE);
  });

  it('deletes at most RETENTION_BATCH_RUNS runs per tick; the next ticks finish the rest', async () => {
    expect(retentionBatchRuns(env)).toBe(200); // wrangler.toml; a smaller batch here keeps the test quick
    const batch = 20;
    const smallTick = () =>
      scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), { ...env, RETENTION_BATCH_RUNS: String(batch) });
    const l = await lab('free');
    const at = Date.now() - 31 * DAY;
    const total = batch + 5;
    const insert = env.DB.prepare(
      "INSERT INTO executions (task_id, organization_id, project_id, image, status, created_at, finished_at, updated_at) VALUES (?, ?, ?, 'x', ?, ?, ?, ?)",
    );
    // Half of them final without a recorded end (retention counts from creation), and one still running.
    await env.DB.batch([
      ...Array.from({ length: total }, (_, i) =>
        insert.bind(`old-${l.org.organizationId}-${i}`, l.org.organizationId, l.projectId, 'PASSED', at, i % 2 ? at : null, at),
      ),
      insert.bind(`running-${l.org.organizationId}`, l.org.organizationId, l.projectId, 'RUNNING', at, null, at),
    ]);
    const left = () => count('SELECT count(*) AS n FROM executions WHERE organization_id = ?', l.org.organizationId);
    await smallTick();
    expect(await left()).toBe(total - batch + 1);
    await smallTick();
    expect(await left()).toBe(1);
    await smallTick();
    expect(await count("SELECT count(*) AS n FROM executions WHERE organization_id = ? AND status = 'RUNNING'", l.org.organizationId)).toBe(1);
  });

  it('finds expired runs with one index seek per organization, not a scan of all runs', async () => {
    const { sql, params } = expiredRunsQuery(drizzle(env.DB, { schema }), Date.now(), 200).toSQL();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan).toEqual([
      expect.stringMatching(/^SCAN organizations/),
      expect.stringMatching(/^SEARCH executions USING INDEX executions_org_created \(organization_id=\? AND created_at<\?\)/),
    ]);
  });

  it('bulk delete goes through the same purge: a cycle keeps its item without a dangling run link', async () => {
    const l = await lab('free');
    const { taskId, cycleId } = await cycleRun(l);
    const del = await api('POST', '/api/executions/bulk', { token: l.org.token, body: { action: 'delete', taskIds: [taskId] } });
    expect(del.json.data.results).toEqual([{ taskId, ok: true, code: 'DELETED' }]);
    expect(await stored(l.org, taskId)).toEqual(GONE);
    const cycle = await api('GET', `/api/test-cycles/${cycleId}`, { token: l.org.token });
    expect(cycle.json.data.items).toEqual([expect.objectContaining({ status: 'FAILED', taskId: null })]);
  });
});
