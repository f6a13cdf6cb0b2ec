// The ingest API inside workerd (real D1, Durable Objects, rate limiter): setup / event / teardown
// validation, org isolation (404 for another org's project or session), the room as the only
// write on the event path, idempotent replays and teardowns, D1's 100-parameter limit, shards,
// the rate tier, the cron job that cancels orphaned runs, and runs that ended or were deleted (their
// room refuses events; a deleted run's runId does not start again).
import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduled } from '../../worker/cron';
import { eq } from 'drizzle-orm';
import { dbOf } from '../../worker/bindings';
import { apiKeys } from '../../worker/db/schema';
import { CREDENTIAL_CACHE_MS } from '../../worker/services/credentials';
import { signSession } from '../../worker/services/ingest-session';
import { purgeRuns, purgeTarget } from '../../worker/services/purge-runs';
import { api, createApiKey, createProject, openSocket, signup, wsTicket, type Org } from './helpers';

type Run = { org: Org; key: string; projectId: string; sessionId: string; taskId: string; cycleId: string };

const setupBody = (projectId: string, extra: Record<string, unknown> = {}) => ({
  projectId,
  framework: 'playwright',
  reporterVersion: '1.0.0',
  totalTests: 3,
  runName: 'PR #42 smoke',
  environment: 'staging',
  ciContext: {
    source: 'github',
    repository: 'acme/shop',
    branch: 'feature/auth',
    prNumber: 42,
    commitSha: 'a1b2c3d',
    runUrl: 'https://github.com/acme/shop/actions/runs/1',
  },
  ...extra,
});

async function startRun(extra: Record<string, unknown> = {}, org?: Org, key?: string): Promise<Run> {
  org ??= await signup();
  key ??= await createApiKey(org);
  const project = await createProject(org.token);
  const res = await api('POST', '/api/ingest/setup', { apiKey: key, body: setupBody(project.id, extra) });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return { org, key, projectId: project.id, ...res.json.data };
}

const testEnd = (n: number, extra: Record<string, unknown> = {}) => ({
  type: 'test-end',
  testId: `t${n}`,
  title: `test ${n}`,
  file: 'a.spec.ts',
  status: 'passed',
  duration: 10 + n,
  timestamp: 1_700_000_000_000 + n,
  seq: n,
  retry: 0,
  ...extra,
});

const send = (run: Run, events: unknown[], batchId?: string) =>
  api('POST', '/api/ingest/event', { apiKey: run.key, body: { sessionId: run.sessionId, events, ...(batchId ? { batchId } : {}) } });

const teardown = (run: Run, extra: Record<string, unknown> = {}) =>
  api('POST', '/api/ingest/teardown', {
    apiKey: run.key,
    body: {
      sessionId: run.sessionId,
      status: 'FAILED',
      summary: { total: 3, passed: 1, failed: 1, skipped: 0, flaky: 1, timedOut: 0, duration: 1234 },
      ...extra,
    },
  });

const logs = async (run: Run) =>
  (await api('GET', `/api/executions/${run.taskId}/logs`, { token: run.org.token })).json.data.chunks as Array<{ seq: number; stream: string; data: string }>;
const row = (taskId: string) => env.DB.prepare('SELECT * FROM executions WHERE task_id = ?').bind(taskId).first<Record<string, any>>();
/** A run's stored results (its room, then its R2 archive: no D1 row per result), as rows ordered by test and retry. */
const storedResults = async (run: Pick<Run, 'org' | 'taskId'>) =>
  ((await api('GET', `/api/executions/${run.taskId}/tests`, { token: run.org.token })).json.data as any[])
    .map((t) => ({
      test_id: t.testId as string,
      retry: (t.retry ?? 0) as number,
      status: t.status as string,
      error_message: (t.error?.message ?? null) as string | null,
    }))
    .sort((a, b) => a.test_id.localeCompare(b.test_id) || a.retry - b.retry);

afterEach(() => {
  vi.useRealTimers();
});

describe('POST /api/ingest/setup', () => {
  it('creates the execution, its cycle and item and the session, and answers 201 with the seed shape', async () => {
    const org = await signup();
    const hub = await openSocket(`/api/live?ticket=${await wsTicket(org.token)}`);
    if (hub.status !== 101) throw new Error('no socket');
    const run = await startRun({}, org);
    expect(Object.keys(run).filter((k) => ['sessionId', 'taskId', 'cycleId'].includes(k))).toHaveLength(3);
    const exec = await row(run.taskId);
    expect(exec).toMatchObject({
      status: 'RUNNING',
      source: 'external-ci',
      image: 'external-ci',
      trigger: 'ingest',
      environment: 'staging',
      total_tests: 3,
      cycle_id: run.cycleId,
    });
    expect(JSON.parse(exec!.ingest_meta)).toMatchObject({ reporterVersion: '1.0.0', framework: 'playwright', totalTests: 3, runName: 'PR #42 smoke' });
    expect(JSON.parse(exec!.ci_context)).toMatchObject({ source: 'github', repository: 'acme/shop', prNumber: 42 });
    const cycle = await env.DB.prepare('SELECT * FROM test_cycles WHERE id = ?').bind(run.cycleId).first<Record<string, any>>();
    expect(cycle).toMatchObject({ name: 'PR #42 smoke', status: 'RUNNING', source: 'external-ci', task_id: run.taskId, organization_id: org.organizationId });
    const item = await env.DB.prepare('SELECT * FROM test_cycle_items WHERE cycle_id = ?').bind(run.cycleId).first<Record<string, any>>();
    expect(item).toMatchObject({ type: 'automated', status: 'RUNNING', task_id: run.taskId });
    const session = await env.DB.prepare('SELECT * FROM ingest_sessions WHERE task_id = ?').bind(run.taskId).first<Record<string, any>>();
    expect(session).toMatchObject({ status: 'active', project_id: run.projectId, organization_id: org.organizationId });
    await hub.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: any) => e.taskId === run.taskId && e.source === 'external-ci')));
    const list = await api('GET', '/api/executions?source=external-ci', { token: org.token });
    expect(list.json.data.items.map((e: any) => e.taskId)).toContain(run.taskId);
  });

  it('refuses bad input with 400 and the zod issues, and a missing or wrong key with 401', async () => {
    const org = await signup();
    const key = await createApiKey(org);
    const project = await createProject(org.token);
    const bad = await api('POST', '/api/ingest/setup', { apiKey: key, body: { ...setupBody(project.id), framework: 'mocha', totalTests: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('VALIDATION_ERROR');
    expect(bad.json.issues!.map((i: any) => i.path.join('.'))).toEqual(expect.arrayContaining(['framework', 'totalTests']));
    expect((await api('POST', '/api/ingest/setup', { apiKey: key, rawBody: '{not json' })).json.code).toBe('INVALID_JSON');
    expect((await api('POST', '/api/ingest/setup', { body: setupBody(project.id) })).status).toBe(401);
    expect((await api('POST', '/api/ingest/setup', { apiKey: 'agx_wrong', body: setupBody(project.id) })).status).toBe(401);
  });

  it('answers 404 for a project of another organization', async () => {
    const a = await signup();
    const b = await signup();
    const projectOfA = await createProject(a.token);
    const res = await api('POST', '/api/ingest/setup', { apiKey: await createApiKey(b), body: setupBody(projectOfA.id) });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ success: false, code: 'NOT_FOUND' });
  });

  it('joins the same execution for the same runId (shards, replays): 200, one execution', async () => {
    const run = await startRun({ runId: 'gh:123-1:2', shard: { current: 1, total: 2 } });
    const again = await api('POST', '/api/ingest/setup', {
      apiKey: run.key,
      body: setupBody(run.projectId, { runId: 'gh:123-1:2', shard: { current: 2, total: 2 } }),
    });
    expect(again.status).toBe(200);
    expect(again.json.data).toMatchObject({ taskId: run.taskId, cycleId: run.cycleId });
    const count = await env.DB.prepare('SELECT count(*) AS n FROM executions WHERE project_id = ?').bind(run.projectId).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });
});

describe('POST /api/ingest/event', () => {
  it("streams logs and live results into the run's room, in order, and acknowledges a resent batch without applying it", async () => {
    const run = await startRun();
    const events = [
      { type: 'test-begin', testId: 't1', title: 'test 1', file: 'a.spec.ts', timestamp: 1, seq: 1 },
      { type: 'log', testId: 't1', chunk: 'hello from test 1\n', timestamp: 2, seq: 2 },
      { type: 'log', chunk: 'warning\n', stream: 'stderr', timestamp: 3, seq: 3 },
      testEnd(1, {
        seq: 4,
        status: 'failed',
        error: 'expected 1 to be 2',
        errorStack: 'Error: expected 1 to be 2\n    at a.spec.ts:3:5',
        errorLocation: 'a.spec.ts:3:5',
      }),
    ];
    const first = await send(run, events, 'b-1');
    expect(first.status).toBe(200);
    expect(first.json.data).toEqual({ accepted: 4, duplicate: false });
    const again = await send(run, events, 'b-1');
    expect(again.json.data).toEqual({ accepted: 0, duplicate: true });
    const lines = (await logs(run)).filter((c) => c.stream !== 'system' || c.data.includes('test 1'));
    expect(lines.map((c) => [c.stream, c.data])).toEqual([
      ['stdout', 'hello from test 1\n'],
      ['stderr', 'warning\n'],
      ['system', '  ✘ a.spec.ts › test 1 (11ms)\n'],
    ]);
    const tests = (await api('GET', `/api/executions/${run.taskId}/tests`, { token: run.org.token })).json.data;
    expect(tests).toEqual([
      expect.objectContaining({
        testId: 't1',
        title: 'test 1',
        status: 'failed',
        durationMs: 11,
        retry: 0,
        error: { message: 'expected 1 to be 2', stack: 'Error: expected 1 to be 2\n    at a.spec.ts:3:5', location: 'a.spec.ts:3:5' },
      }),
    ]);
    // No D1 write per event: the execution row is untouched by the stream.
    const before = await row(run.taskId);
    await send(run, [{ type: 'log', chunk: 'more\n', timestamp: 5, seq: 5 }], 'b-2');
    expect((await row(run.taskId))!.updated_at).toBe(before!.updated_at);
  });

  it('publishes a status event to the live list', async () => {
    const run = await startRun();
    const hub = await openSocket(`/api/live?ticket=${await wsTicket(run.org.token)}`);
    if (hub.status !== 101) throw new Error('no socket');
    await send(run, [{ type: 'status', status: 'ANALYZING', timestamp: 1, seq: 1 }], 's-1');
    await hub.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: any) => e.taskId === run.taskId && e.status === 'ANALYZING')));
    expect((await row(run.taskId))!.status).toBe('ANALYZING');
  });

  it("answers 404 for an unknown, tampered, expired or another org's session, and 400 for bad events", async () => {
    const run = await startRun();
    const other = await startRun();
    const event = [{ type: 'log', chunk: 'x', timestamp: 1 }];
    const call = (sessionId: string, key = run.key, events: unknown[] = event) =>
      api('POST', '/api/ingest/event', { apiKey: key, body: { sessionId, events } });
    expect((await call('not-a-session')).status).toBe(404);
    const [v, payload, sig] = run.sessionId.split('.');
    const forged = btoa(JSON.stringify({ ...JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/'))), taskId: other.taskId })).replace(/=+$/, '');
    expect((await call(`${v}.${forged}.${sig}`)).status).toBe(404);
    const claims = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')));
    const expired = await signSession(env, { ...claims, exp: Date.now() - 1 });
    const res = await call(expired);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ code: 'SESSION_NOT_FOUND', error: 'Session not found or expired' });
    expect((await call(run.sessionId, other.key)).status).toBe(404); // a valid session, but another org's key
    const invalid = await call(run.sessionId, run.key, [{ type: 'test-end', testId: 't', status: 'exploded', duration: 1, timestamp: 1 }]);
    expect(invalid.status).toBe(400);
    expect((await call(run.sessionId, run.key, [])).status).toBe(400);
  });
});

describe('POST /api/ingest/teardown', () => {
  it('writes results, summary and status, closes cycle and session; a repeated teardown changes nothing', async () => {
    const run = await startRun();
    await send(
      run,
      [
        testEnd(1),
        testEnd(2, { status: 'failed', error: 'boom' }),
        testEnd(3, { status: 'failed', error: 'first try' }),
        testEnd(4, { testId: 't3', retry: 1 }),
      ],
      'b-1',
    );
    const done = await teardown(run);
    expect(done.status).toBe(200);
    expect(done.json.data).toEqual({ taskId: run.taskId, status: 'FAILED' });
    const exec = await row(run.taskId);
    expect(exec).toMatchObject({ status: 'FAILED', total_tests: 3, passed: 1, failed: 1, flaky: 1, skipped: 0, duration_ms: 1234 });
    expect(exec!.finished_at).toBeGreaterThan(0);
    // The run ended through endRun (runs/lifecycle.ts), like hosted runs: a failed run is offered to the AI analysis.
    expect(JSON.parse(exec!.analysis)).toMatchObject({ status: 'skipped', code: 'NOT_CONFIGURED' });
    expect(await storedResults(run)).toEqual([
      { test_id: 't1', retry: 0, status: 'passed', error_message: null },
      { test_id: 't2', retry: 0, status: 'failed', error_message: 'boom' },
      { test_id: 't3', retry: 0, status: 'failed', error_message: 'first try' },
      { test_id: 't3', retry: 1, status: 'passed', error_message: null },
    ]);
    const cycle = await env.DB.prepare('SELECT status, summary FROM test_cycles WHERE id = ?').bind(run.cycleId).first<Record<string, any>>();
    expect(cycle!.status).toBe('COMPLETED');
    expect(JSON.parse(cycle!.summary)).toEqual({ total: 3, passed: 2, failed: 1, blocked: 0, skipped: 0, pending: 0 });
    expect(await env.DB.prepare('SELECT status FROM ingest_sessions WHERE task_id = ?').bind(run.taskId).first()).toEqual({ status: 'completed' });

    const snapshot = async () =>
      JSON.stringify([
        await row(run.taskId),
        await storedResults(run),
        (await env.DB.prepare('SELECT * FROM test_daily WHERE project_id = ? ORDER BY test_key').bind(run.projectId).all()).results,
        await env.DB.prepare('SELECT * FROM test_cycles WHERE id = ?').bind(run.cycleId).first(),
        await env.DB.prepare('SELECT * FROM ingest_sessions WHERE task_id = ?').bind(run.taskId).first(),
      ]);
    const before = await snapshot();
    const logBefore = await logs(run);
    const again = await teardown(run, { status: 'PASSED', summary: { total: 9, passed: 9, failed: 0, skipped: 0, duration: 1 } });
    expect(again.status).toBe(200);
    expect(again.json.data).toEqual(done.json.data);
    expect(await snapshot()).toBe(before);
    expect(await logs(run)).toEqual(logBefore);
  });

  it('stores every result (the room, then R2) and folds each test into D1 once, one statement per table: 6, 7, 13 and 250 results', async () => {
    for (const n of [6, 7, 13, 250]) {
      const run = await startRun();
      const events = Array.from({ length: n }, (_, i) => testEnd(i + 1));
      for (let i = 0; i < events.length; i += 100) expect((await send(run, events.slice(i, i + 100), `b-${i}`)).status).toBe(200);
      expect((await teardown(run, { status: 'PASSED', summary: { total: n, passed: n, failed: 0, skipped: 0, duration: 5 } })).status).toBe(200);
      const stored = await storedResults(run);
      expect({ n: stored.length, d: new Set(stored.map((t) => t.test_id)).size }, `${n} results`).toEqual({ n, d: n });
      const daily = await env.DB.prepare('SELECT count(*) AS n, sum(runs) AS runs, sum(passed) AS passed FROM test_daily WHERE project_id = ?')
        .bind(run.projectId)
        .first<{ n: number; runs: number; passed: number }>();
      expect(daily, `${n} tests folded`).toEqual({ n, runs: n, passed: n });
    }
  });

  it('applies the last events a teardown carries before ending the run, once even when the teardown is resent', async () => {
    const run = await startRun();
    expect((await send(run, [testEnd(1), testEnd(2)], 'b-1')).status).toBe(200);
    const last = [testEnd(3, { status: 'failed', error: 'boom' }), { type: 'log', chunk: 'last words\n', timestamp: 1_700_000_000_100, seq: 4 }];
    const body = { status: 'FAILED', summary: { total: 3, passed: 2, failed: 1, skipped: 0, duration: 50 }, batchId: 'b-last', events: last };
    for (let i = 0; i < 2; i++) expect((await teardown(run, body)).json.data).toEqual({ taskId: run.taskId, status: 'FAILED' });
    expect((await storedResults(run)).map(({ test_id, status }) => ({ test_id, status }))).toEqual([
      { test_id: 't1', status: 'passed' },
      { test_id: 't2', status: 'passed' },
      { test_id: 't3', status: 'failed' },
    ]);
    const logs = await api('GET', `/api/executions/${run.taskId}/logs`, { token: run.org.token });
    expect(logs.json.data.chunks.filter((c: { data: string }) => c.data.includes('last words'))).toHaveLength(1);
    const invalid = await teardown(run, { ...body, events: [{ type: 'nope' }] });
    expect(invalid.status).toBe(400);
  });

  it("ends a sharded run when its last shard tears down, with the shards' summaries added up", async () => {
    const shard = (current: number) => ({ runId: 'buildkite:77:2', shard: { current, total: 2 } });
    const one = await startRun(shard(1));
    const two = { ...one, ...(await api('POST', '/api/ingest/setup', { apiKey: one.key, body: setupBody(one.projectId, shard(2)) })).json.data };
    await send(one, [testEnd(1)], 'shard1-1');
    await send(two, [testEnd(2, { status: 'failed' })], 'shard2-1');
    const first = await teardown(one, {
      status: 'PASSED',
      shard: { current: 1, total: 2 },
      summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: 100 },
    });
    expect(first.json.data).toEqual({ taskId: one.taskId, status: 'RUNNING' });
    const last = await teardown(two, {
      status: 'FAILED',
      shard: { current: 2, total: 2 },
      summary: { total: 1, passed: 0, failed: 1, skipped: 0, duration: 300 },
    });
    expect(last.json.data).toEqual({ taskId: one.taskId, status: 'FAILED' });
    expect(await row(one.taskId)).toMatchObject({ status: 'FAILED', total_tests: 2, passed: 1, failed: 1, duration_ms: 300 });
  });

  it("refuses a bad teardown with 400 and another org's session with 404, leaving the run as it was", async () => {
    const run = await startRun();
    const other = await startRun();
    const bad = await api('POST', '/api/ingest/teardown', {
      apiKey: run.key,
      body: { sessionId: run.sessionId, status: 'DONE', summary: { total: 1, passed: -1 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.issues!.map((i: any) => i.path.join('.'))).toEqual(expect.arrayContaining(['status', 'summary.passed', 'summary.failed']));
    const res = await api('POST', '/api/ingest/teardown', {
      apiKey: other.key,
      body: { sessionId: run.sessionId, status: 'PASSED', summary: { total: 0, passed: 0, failed: 0, skipped: 0, duration: 0 } },
    });
    expect(res.status).toBe(404);
    expect((await row(run.taskId))!.status).toBe('RUNNING');
  });
});

describe('after the run ends or is deleted', () => {
  const logText = async (run: Run) => (await logs(run)).map((c) => c.data).join('');
  const d1Results = async (run: Run) => ({
    results: await storedResults(run),
    daily: (await env.DB.prepare('SELECT * FROM test_daily WHERE project_id = ? ORDER BY test_key').bind(run.projectId).all()).results,
  });
  const roomTests = (taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId)).readTests();

  it('refuses events after teardown with 409 RUN_ENDED and changes nothing; a batch applied before is still a duplicate', async () => {
    const run = await startRun();
    expect((await send(run, [testEnd(1)], 'b-1')).status).toBe(200);
    expect((await teardown(run, { status: 'PASSED', summary: { total: 1, passed: 1, failed: 0, skipped: 0, duration: 10 } })).status).toBe(200);
    const logBefore = await logs(run);
    const rowBefore = await row(run.taskId);
    const resultsBefore = await d1Results(run);

    const late = await send(
      run,
      [
        { type: 'log', chunk: 'late line\n', timestamp: 9, seq: 9 },
        testEnd(2, { status: 'failed', error: 'late' }),
        { type: 'status', status: 'RUNNING', timestamp: 9, seq: 10 },
      ],
      'b-late',
    );
    expect(late.status).toBe(409);
    expect(late.json).toMatchObject({ success: false, code: 'RUN_ENDED' });
    // Without a batch id too.
    expect((await send(run, [testEnd(3, { status: 'failed' })])).status).toBe(409);
    // A replayed spool: what was applied before the end is acknowledged, as before.
    expect((await send(run, [testEnd(1)], 'b-1')).json.data).toEqual({ accepted: 0, duplicate: true });

    expect(await logs(run)).toEqual(logBefore);
    expect(await logText(run)).not.toContain('late line');
    expect(await row(run.taskId)).toEqual(rowBefore);
    expect(await d1Results(run)).toEqual(resultsBefore);
    expect((await roomTests(run.taskId)).map((t) => t.testId)).toEqual(['t1']);
    // Attachments neither.
    const attachment = await api('POST', `/api/ingest/attachment?sessionId=${encodeURIComponent(run.sessionId)}&testId=t2&retry=0&name=late.png`, {
      apiKey: run.key,
      rawBody: 'png',
      headers: { 'content-type': 'image/png' },
    });
    expect(attachment.status).toBe(409);
    expect((await env.ARTIFACTS.list({ prefix: `${run.org.organizationId}/${run.taskId}/` })).objects).toEqual([]);
  });

  it('a late status RUNNING event never moves an ANALYZING run back', async () => {
    const run = await startRun();
    expect((await send(run, [{ type: 'status', status: 'ANALYZING', timestamp: 1, seq: 1 }], 's-1')).status).toBe(200);
    expect((await row(run.taskId))!.status).toBe('ANALYZING');
    expect((await send(run, [{ type: 'status', status: 'RUNNING', timestamp: 2, seq: 2 }], 's-2')).status).toBe(200);
    expect((await row(run.taskId))!.status).toBe('ANALYZING');
    expect((await env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(run.taskId)).info()).status).toBe('ANALYZING');
  });

  for (const how of ['bulk delete', 'retention purge'] as const) {
    it(`after a ${how}, events answer 410 RUN_DELETED and a new setup with the same runId is refused: nothing comes back`, async () => {
      const runId = `gh:${crypto.randomUUID()}`;
      const run = await startRun({ runId });
      expect((await send(run, [{ type: 'log', chunk: 'old line\n', timestamp: 1, seq: 1 }, testEnd(1, { status: 'failed' })], 'b-1')).status).toBe(200);
      expect((await teardown(run)).status).toBe(200);
      if (how === 'bulk delete') {
        const del = await api('POST', '/api/executions/bulk', { token: run.org.token, body: { action: 'delete', taskIds: [run.taskId] } });
        expect(del.json.data.results).toEqual([{ taskId: run.taskId, ok: true, code: 'DELETED' }]);
      } else {
        // What the retention cron does with an expired run.
        const expired = await dbOf(env).query.executions.findFirst({ where: (e, { eq }) => eq(e.taskId, run.taskId) });
        expect(await purgeRuns(env, dbOf(env), [purgeTarget(expired!)])).toEqual([run.taskId]);
      }
      const late = await send(run, [{ type: 'log', chunk: 'ghost line\n', timestamp: 2, seq: 2 }, testEnd(2, { status: 'failed' })], 'b-2');
      expect(late.status).toBe(410);
      expect(late.json).toMatchObject({ success: false, code: 'RUN_DELETED' });
      expect((await send(run, [testEnd(1)], 'b-1')).status).toBe(410);
      const again = await api('POST', '/api/ingest/setup', { apiKey: run.key, body: setupBody(run.projectId, { runId }) });
      expect(again.status).toBe(410);
      expect(again.json.code).toBe('RUN_DELETED');
      expect(await row(run.taskId)).toBeNull();
      expect((await api('GET', `/api/executions/${run.taskId}/logs`, { token: run.org.token })).status).toBe(404);
      const room = env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(run.taskId));
      expect((await room.readLogs()).chunks).toEqual([]);
      expect(await room.readTests()).toEqual([]);
      expect((await teardown(run)).status).toBeGreaterThanOrEqual(404);
      // A new runId in the same project starts a run as usual.
      expect((await api('POST', '/api/ingest/setup', { apiKey: run.key, body: setupBody(run.projectId, { runId: `${runId}-2` }) })).status).toBe(201);
    });
  }
});

describe('keys and limits', () => {
  it('honours a key revoked elsewhere within CREDENTIAL_CACHE_MS (the per-isolate cache), and a key revoked here at once', async () => {
    expect(CREDENTIAL_CACHE_MS).toBeLessThanOrEqual(60_000);
    const run = await startRun();
    const keys = (await api('GET', '/api/api-keys', { token: run.org.token })).json.data as Array<{ id: string }>;
    // Revoked by another isolate: this one learns of it when its cached lookup expires, reading no D1 until then.
    await dbOf(env).update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, keys[0]!.id));
    expect((await send(run, [{ type: 'log', chunk: 'cached', timestamp: 1, seq: 1 }])).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + CREDENTIAL_CACHE_MS + 1);
    expect((await send(run, [{ type: 'log', chunk: 'x', timestamp: 1, seq: 2 }])).status).toBe(401);
    vi.useRealTimers();

    // Revoked through the API: the isolate that revoked it refuses it on the next call.
    const other = await startRun({}, run.org);
    const otherKeys = (await api('GET', '/api/api-keys', { token: run.org.token })).json.data as Array<{
      id: string;
      prefix: string;
      revokedAt: number | null;
    }>;
    const live = otherKeys.find((k) => k.revokedAt === null && other.key.startsWith(k.prefix))!;
    expect((await send(other, [{ type: 'log', chunk: 'y', timestamp: 1, seq: 1 }])).status).toBe(200);
    expect((await api('DELETE', `/api/api-keys/${live.id}`, { token: run.org.token })).status).toBe(200);
    expect((await send(other, [{ type: 'log', chunk: 'z', timestamp: 1, seq: 2 }])).status).toBe(401);
  });

  it('has its own rate tier: 500 requests a minute per key, then 429 with Retry-After', async () => {
    const run = await startRun(); // the setup call counts too
    // The limiter's windows are aligned to the wall-clock minute: a test that crosses a minute
    // boundary sees a fresh window, so the exact count is only asserted within one window.
    const minute = () => Math.floor(Date.now() / 60_000);
    const startMinute = minute();
    let accepted = 1;
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    while (!limited && accepted <= 1100) {
      const res = await api('POST', '/api/ingest/event', { apiKey: run.key, rawBody: '' });
      if (res.status === 429) limited = res;
      else {
        expect(res.status).toBe(400);
        accepted++;
      }
    }
    expect(limited, 'no 429 after 1,100 requests').toBeDefined();
    expect(limited!.json.code).toBe('RATE_LIMITED');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    if (minute() === startMinute) expect(accepted).toBe(500);
    else expect(accepted).toBeGreaterThanOrEqual(500);
    // Another key of the same org has its own budget.
    expect((await send({ ...run, key: await createApiKey(run.org) }, [{ type: 'log', chunk: 'x', timestamp: 1 }])).status).toBe(200);
  }, 120_000);
});

describe('orphaned runs', () => {
  it('the cron handler cancels external-ci runs with no event for the configured time, and only those', async () => {
    const stale = await startRun();
    const fresh = await startRun();
    const hours = Number((env as { INGEST_ORPHAN_HOURS?: string }).INGEST_ORPHAN_HOURS ?? 24);
    await env.DB.prepare('UPDATE ingest_sessions SET last_event_at = ? WHERE task_id = ?')
      .bind(Date.now() - (hours * 3600 + 60) * 1000, stale.taskId)
      .run();
    await scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env);
    expect(await row(stale.taskId)).toMatchObject({ status: 'CANCELLED' });
    expect((await row(stale.taskId))!.reason).toContain(`no event for ${hours} h`);
    expect((await row(fresh.taskId))!.status).toBe('RUNNING');
    expect(await env.DB.prepare('SELECT status FROM ingest_sessions WHERE task_id = ?').bind(stale.taskId).first()).toEqual({ status: 'cancelled' });
    expect((await logs(stale)).at(-1)!.data).toContain('orphaned');
    // The cancelled run takes no more events; a late teardown (a spool uploaded the next day) still completes it,
    // without the events it carries.
    expect((await send(stale, [testEnd(1)], 'late-1')).status).toBe(409);
    expect((await teardown(stale, { batchId: 'late-2', events: [testEnd(2)] })).json.data).toEqual({ taskId: stale.taskId, status: 'FAILED' });
    expect(await storedResults(stale)).toEqual([]);
  });
});
