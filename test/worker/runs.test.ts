import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it, vi } from 'vitest';
import { CREDENTIAL_CACHE_MS } from '../../worker/services/credentials';
import { SEEN_WRITE_INTERVAL_MS } from '../../worker/routes/agent-protocol';
import * as schema from '../../worker/db/schema';
import { agentApi, api, createApiKey, createProject, logText, openSocket, poll, registerAgent, signup, wsTicket, type Org } from './helpers';

const dispatcher = (orgId: string) => env.DISPATCHER.get(env.DISPATCHER.idFromName(`org:${orgId}`));
const room = (taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId));

async function requestRun(org: Org, projectId: string, extra: Record<string, unknown> = {}) {
  const res = await api('POST', '/api/execution-request', { token: org.token, body: { projectId, ...extra } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data.taskId as string;
}

/** Polls a condition until it holds (or fails the test after `ms`). */
async function waitFor(condition: () => Promise<boolean>, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const status = async (org: Org, taskId: string) => (await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data.status;

/** Lets a lease lapse as a minute without heartbeats would, then runs the alarm of the run's room, which keeps the lease. */
async function expireLease(taskId: string) {
  await runInDurableObject(room(taskId), (_instance, state) => {
    state.storage.sql.exec('UPDATE lease SET expires_at = 0');
  });
  expect(await runDurableObjectAlarm(room(taskId))).toBe(true);
}

describe('run requests and dispatch', () => {
  it('answers a waiting long poll as soon as a matching job is enqueued', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const started = Date.now();
    const polling = poll(agent, 20_000);
    await waitFor(async () => (await dispatcher(org.organizationId).stats()).waiting === 1);
    const taskId = await requestRun(org, project.id);
    const job = await polling;
    expect(job?.taskId).toBe(taskId);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(job).toMatchObject({ image: 'agnox/busybox:test', command: 'echo hi', attempt: 1, environment: 'staging' });
    expect(await status(org, taskId)).toBe('RUNNING');
  });

  it('answers 204 when no job comes within the wait', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const res = await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 50 });
    expect(res.status).toBe(204);
  });

  it('routes by labels: a job goes only to an agent that has every one of its labels', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const plain = await registerAgent(org);
    const gpu = await registerAgent(org, { pool: 'gpu-lab' });
    expect(gpu.labels).toMatchObject({ pool: 'gpu-lab', arch: 'arm64', os: 'linux' });
    const taskId = await requestRun(org, project.id, { labels: { pool: 'gpu-lab', arch: 'arm64' } });
    expect(await poll(plain, 0)).toBeNull();
    expect((await poll(gpu, 0))?.taskId).toBe(taskId);
    // A job without labels goes to any agent of the queue.
    const any = await requestRun(org, project.id);
    expect((await poll(plain, 0))?.taskId).toBe(any);
  });

  it('routes branded Chrome/Edge runs to amd64 agents', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const arm = await registerAgent(org, {}, 'arm64');
    const amd = await registerAgent(org, {}, 'amd64');
    const taskId = await requestRun(org, project.id, { command: 'npx playwright test --browser-channel chrome' });
    expect(await poll(arm, 0)).toBeNull();
    expect((await poll(amd, 0))?.taskId).toBe(taskId);
  });

  it('never gives the same job to two agents polling the same queue', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agents = await Promise.all([registerAgent(org), registerAgent(org)]);
    const taskIds = [];
    for (let i = 0; i < 8; i++) taskIds.push(await requestRun(org, project.id));
    const got: string[] = [];
    for (let round = 0; round < 8; round++) {
      const jobs = await Promise.all(agents.map((a) => poll(a, 0)));
      for (const j of jobs) if (j) got.push(j.taskId);
    }
    expect(got.sort()).toEqual([...taskIds].sort());
    expect(new Set(got).size).toBe(8);
  });

  it("keeps the hosted queue fair: one org's backlog does not starve another org", async () => {
    const stub = env.DISPATCHER.get(env.DISPATCHER.idFromName('hosted-fairness-test'));
    const payload = (taskId: string) => ({
      taskId,
      projectId: 'p',
      image: 'i',
      command: null,
      tests: [],
      testFolder: null,
      environment: null,
      baseUrl: null,
      envVars: {},
      timeoutSeconds: 60,
      pullPolicy: 'never' as const,
      reportDir: '/reports',
    });
    for (let i = 0; i < 50; i++) await stub.enqueue({ organizationId: 'big', labels: {}, payload: payload(`big-${i}`) });
    await stub.enqueue({ organizationId: 'small', labels: {}, payload: payload('small-0') });
    const agent = { agentId: 'fleet-1', organizationId: 'platform', labels: {} };
    const first = await stub.poll(agent, 1, 0);
    const second = await stub.poll(agent, 1, 0);
    expect([first, second].map((answer) => (answer && 'taskId' in answer ? answer.taskId : null))).toEqual(['big-0', 'small-0']);
  });

  it("refuses a run for another org's project (404) and bad input (400)", async () => {
    const a = await signup();
    const b = await signup();
    const projectB = await createProject(b.token);
    const res = await api('POST', '/api/execution-request', { token: a.token, body: { projectId: projectB.id } });
    expect(res.status).toBe(404);
    const bad = await api('POST', '/api/execution-request', { token: a.token, body: { projectId: 'x', labels: { 'bad label': 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('VALIDATION_ERROR');
  });

  it('CI trigger with an API key creates a run carrying the CI context', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const apiKey = await createApiKey(org);
    const res = await api('POST', '/api/ci/trigger', {
      apiKey,
      body: { projectId: project.id, environment: 'production', ciContext: { source: 'github', repository: 'acme/web', branch: 'main', prNumber: 7 } },
    });
    expect(res.status).toBe(201);
    const detail = await api('GET', `/api/executions/${res.json.data.taskId}`, { apiKey });
    expect(detail.json.data).toMatchObject({ trigger: 'ci', environment: 'production', status: 'PENDING', ciContext: { repository: 'acme/web', prNumber: 7 } });
    expect((await api('POST', '/api/ci/trigger', { apiKey: 'agx_wrong', body: { projectId: project.id } })).status).toBe(401);
  });

  it('sends secret variables only to the agent holding the lease, and never shows them to members', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const put = await api('PUT', `/api/projects/${project.id}/run-settings/staging`, {
      token: org.token,
      body: { baseUrl: 'https://staging.example.com', variables: { MODE: 'smoke' }, secretVariables: { API_TOKEN: 's3cr3t-value' } },
    });
    expect(put.json.data.secretVariables.API_TOKEN).toBe('••••••••');
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    const job = await poll(agent, 0);
    expect(job).toMatchObject({ baseUrl: 'https://staging.example.com', envVars: { MODE: 'smoke' }, secretVars: { API_TOKEN: 's3cr3t-value' } });
    const detail = await api('GET', `/api/executions/${taskId}`, { token: org.token });
    expect(JSON.stringify(detail.json)).not.toContain('s3cr3t-value');
    const logs = await api('GET', `/api/executions/${taskId}/logs`, { token: org.token });
    expect(JSON.stringify(logs.json)).not.toContain('s3cr3t-value');
  });

  it('takes run settings from the requested environment, else from the project default', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    for (const [environment, baseUrl] of [
      ['staging', 'https://staging.example.com'],
      ['production', 'https://example.com'],
    ]) {
      expect(
        (await api('PUT', `/api/projects/${project.id}/run-settings/${environment}`, { token: org.token, body: { baseUrl, variables: { ENV: environment } } }))
          .status,
      ).toBe(200);
    }
    const agent = await registerAgent(org);
    const asked = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id, environment: 'production' } });
    expect(asked.status).toBe(201);
    expect(await poll(agent, 0)).toMatchObject({ environment: 'production', baseUrl: 'https://example.com', envVars: { ENV: 'production' } });
    await requestRun(org, project.id);
    expect(await poll(agent, 0)).toMatchObject({ environment: 'staging', baseUrl: 'https://staging.example.com', envVars: { ENV: 'staging' } });
    const unknown = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: 'prj_missing', environment: 'production' } });
    expect(unknown.status).toBe(404);
  });
});

describe('leases', () => {
  it('requeues a job whose agent stopped heartbeating, then ends ERROR agent_lost after the retry limit', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const job = await poll(agent, 0);
      expect(job).toMatchObject({ taskId, attempt });
      expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(200);
      await expireLease(taskId);
      // The lost agent's lease is gone.
      expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(404);
      expect(await status(org, taskId)).toBe(attempt < 3 ? 'PENDING' : 'ERROR');
    }
    const detail = await api('GET', `/api/executions/${taskId}`, { token: org.token });
    expect(detail.json.data.reason).toBe('agent_lost');
    expect(await poll(agent, 0)).toBeNull();
    const logs = await api('GET', `/api/executions/${taskId}/logs`, { token: org.token });
    expect(logs.json.data.chunks.map((c: any) => c.data).join('')).toContain('agent lost 3 times');
  });

  it('asks the agent to stop a run past its timeout; the run ends TIMED_OUT', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id, { timeoutSeconds: 10 });
    await poll(agent, 0);
    await runInDurableObject(room(taskId), (_i, state) => {
      state.storage.sql.exec('UPDATE lease SET timeout_at = ?', Date.now() - 1);
    });
    await runDurableObjectAlarm(room(taskId));
    const hb = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {});
    expect(hb.json.data).toMatchObject({ cancel: true, reason: 'timeout' });
    const done = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'TIMED_OUT', exitCode: null, reason: 'timeout' });
    expect(done.status).toBe(200);
    expect(await status(org, taskId)).toBe('TIMED_OUT');
  });

  // Found by `npm run load`: under load a complete can outlast the agent's request timeout; the
  // agent's retry then found no lease and got 404, though its first attempt had been applied.
  it('answers a repeated complete (the first answer came too late) like the first, and only for that agent', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const other = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    await poll(agent, 0);
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, stream: 'stdout', data: 'ok\n', ts: Date.now() }] });
    const body = { status: 'FAILED', exitCode: 1, lastSeq: 1 };
    const first = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, body);
    expect(first.status).toBe(200);
    const again = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, body);
    expect(again.status).toBe(200);
    expect(again.json.data).toEqual(first.json.data);
    expect((await agentApi(other, 'POST', `/api/agent/jobs/${taskId}/complete`, body)).status).toBe(404);
    expect(await status(org, taskId)).toBe('FAILED');
    const notes = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data.chunks.map((c: any) => c.data).join('');
    expect(notes.match(/agent reported FAILED/g)).toHaveLength(1);

    // A lost agent's late complete is still refused: its run was given up on (ERROR agent_lost).
    const lost = await requestRun(org, project.id);
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await poll(agent, 0)).toMatchObject({ taskId: lost, attempt });
      await expireLease(lost);
    }
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${lost}/complete`, { status: 'PASSED', exitCode: 0 })).status).toBe(404);
    expect(await status(org, lost)).toBe('ERROR');
  });
});

describe('cancel', () => {
  it('cancels a PENDING run at once; no agent ever gets it', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    const res = await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token });
    expect(res.json.data).toMatchObject({ cancelled: 'now', status: 'CANCELLED' });
    expect(await poll(agent, 0)).toBeNull();
    expect((await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token })).status).toBe(409);
  });

  it("cancels a RUNNING run through the agent's heartbeat", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    await poll(agent, 0);
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).json.data.cancel).toBe(false);
    const res = await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token });
    expect(res.json.data.cancelled).toBe('requested');
    const hb = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {});
    expect(hb.json.data).toMatchObject({ cancel: true, reason: 'cancel' });
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'CANCELLED', exitCode: 143, reason: 'cancel' });
    expect(await status(org, taskId)).toBe('CANCELLED');
  });

  it("bulk-cancels and bulk-deletes, skipping other orgs' ids", async () => {
    const org = await signup();
    const other = await signup();
    const project = await createProject(org.token);
    const otherProject = await createProject(other.token);
    const mine = [await requestRun(org, project.id), await requestRun(org, project.id)];
    const theirs = await requestRun(other, otherProject.id);
    const cancel = await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'cancel', taskIds: [...mine, theirs] } });
    expect(cancel.status).toBe(200);
    const byId = Object.fromEntries(cancel.json.data.results.map((r: any) => [r.taskId, r]));
    expect(byId[mine[0]!]).toMatchObject({ ok: true, status: 'CANCELLED' });
    expect(byId[theirs]).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await status(other, theirs)).toBe('PENDING');
    const del = await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'delete', taskIds: mine } });
    expect(del.json.data.results.every((r: any) => r.ok)).toBe(true);
    expect((await api('GET', `/api/executions/${mine[0]}`, { token: org.token })).status).toBe(404);
  });

  it('takes the full 100 ids in one bulk request (D1 allows 100 bound parameters per statement)', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const pending = [await requestRun(org, project.id), await requestRun(org, project.id)];
    const missing = Array.from({ length: 98 }, (_, i) => `run_missing_${i}`);
    const cancel = await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'cancel', taskIds: [...pending, ...missing] } });
    expect(cancel.status, JSON.stringify(cancel.json)).toBe(200);
    expect(
      cancel.json.data.results
        .filter((r: any) => r.ok)
        .map((r: any) => r.taskId)
        .sort(),
    ).toEqual([...pending].sort());
    expect(cancel.json.data.results.filter((r: any) => r.code === 'NOT_FOUND')).toHaveLength(98);

    // 100 finished runs of the org: the cancelled one's row, copied.
    const db = drizzle(env.DB, { schema });
    const row = (await db.select().from(schema.executions).where(eq(schema.executions.taskId, pending[0]!)))[0]!;
    const copies = Array.from({ length: 99 }, (_, i) => ({ ...row, taskId: `run_copy_${i}_${crypto.randomUUID().slice(0, 8)}` }));
    await db.batch(copies.map((c) => db.insert(schema.executions).values(c)) as unknown as Parameters<typeof db.batch>[0]);
    const ids = [pending[0]!, ...copies.map((c) => c.taskId)];
    const del = await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'delete', taskIds: ids } });
    expect(del.status, JSON.stringify(del.json)).toBe(200);
    expect(del.json.data.results.filter((r: any) => r.code === 'DELETED')).toHaveLength(100);
    expect((await env.DB.prepare('SELECT count(*) AS n FROM executions WHERE organization_id = ?').bind(org.organizationId).first<{ n: number }>())!.n).toBe(1);
  });
});

describe('log streaming', () => {
  async function runningJob() {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    await poll(agent, 0);
    return { org, agent, taskId };
  }
  const chunk = (seq: number) => ({ seq, stream: 'stdout', data: `line ${seq}\n`, ts: Date.now() });

  it('stores chunks in order over the agent WebSocket, acks them, and ignores resends', async () => {
    const { org, agent, taskId } = await runningJob();
    const sock = await openSocket(`/api/agent/jobs/${taskId}/stream`, { authorization: `Bearer ${agent.token}` });
    expect(sock.status).toBe(101);
    if (sock.status !== 101) return;
    await sock.until((m) => m.some((x) => x.type === 'ack' && x.upTo === 0));
    sock.ws.send(JSON.stringify({ type: 'chunks', chunks: [chunk(1), chunk(2), chunk(3)] }));
    await sock.until((m) => m.some((x) => x.type === 'ack' && x.upTo === 3));
    // A resend (after a reconnect, say) and a chunk after a gap.
    sock.ws.send(JSON.stringify({ type: 'chunks', chunks: [chunk(2), chunk(3), chunk(5)] }));
    await sock.until((m) => m.filter((x) => x.type === 'ack').length >= 3);
    expect(sock.messages.filter((x) => x.type === 'ack').at(-1).upTo).toBe(3);
    sock.ws.send(JSON.stringify({ type: 'chunks', chunks: [chunk(4)] }));
    await sock.until((m) => m.some((x) => x.type === 'ack' && x.upTo === 5));
    const logs = await api('GET', `/api/executions/${taskId}/logs`, { token: org.token });
    const agentLines = logs.json.data.chunks.filter((c: any) => c.stream === 'stdout').map((c: any) => c.data);
    expect(agentLines).toEqual(['line 1\n', 'line 2\n', 'line 3\n', 'line 4\n', 'line 5\n']);
    const seqs = logs.json.data.chunks.map((c: any) => c.seq);
    expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1));
  });

  it('takes the same frames over the HTTP fallback, idempotently', async () => {
    const { org, agent, taskId } = await runningJob();
    const first = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [chunk(1), chunk(2)] });
    expect(first.json.data.upTo).toBe(2);
    const again = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [chunk(1), chunk(2)] });
    expect(again.json.data.upTo).toBe(2);
    const logs = await api('GET', `/api/executions/${taskId}/logs`, { token: org.token });
    expect(logs.json.data.chunks.filter((c: any) => c.stream === 'stdout')).toHaveLength(2);
    const bad = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 0, data: 'x' }] });
    expect(bad.status).toBe(400);
  });

  it('a viewer that connects mid-run with since=N gets everything after N, then the live stream, in order', async () => {
    const { org, agent, taskId } = await runningJob();
    for (let i = 1; i <= 20; i += 5) {
      await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [0, 1, 2, 3, 4].map((d) => chunk(i + d)) });
    }
    const stored = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data;
    const since = 7;
    const viewer = await openSocket(`/api/executions/${taskId}/live?since=${since}&ticket=${await wsTicket(org.token, taskId)}`);
    expect(viewer.status).toBe(101);
    if (viewer.status !== 101) return;
    await viewer.until((m) => logText(m).length === stored.lastSeq - since);
    for (let i = 21; i <= 40; i += 5) {
      await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [0, 1, 2, 3, 4].map((d) => chunk(i + d)) });
    }
    await viewer.until((m) => logText(m).length === stored.lastSeq - since + 20);
    const seqs = logText(viewer.messages).map((c: any) => c.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => since + 1 + i));
    expect(viewer.messages[0]).toMatchObject({ type: 'hello', taskId, status: 'RUNNING' });
    const all = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data.chunks;
    expect(all.filter((c: any) => c.stream === 'stdout').map((c: any) => c.data)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`));
  });

  it('a viewer sees status changes and the final status live', async () => {
    const { org, agent, taskId } = await runningJob();
    const viewer = await openSocket(`/api/executions/${taskId}/live?ticket=${await wsTicket(org.token, taskId)}`);
    if (viewer.status !== 101) throw new Error('no socket');
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, {
      status: 'FAILED',
      exitCode: 1,
      tests: [
        { testId: 't1', title: 'logs in', status: 'failed', durationMs: 10, retry: 0, error: { message: 'boom' } },
        { testId: 't1', title: 'logs in', status: 'passed', durationMs: 12, retry: 1 },
        { testId: 't2', title: 'checks out', status: 'failed', durationMs: 5, retry: 0 },
      ],
    });
    await viewer.until((m) => m.some((x) => x.type === 'status' && x.status === 'FAILED'));
    const detail = (await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data;
    expect(detail).toMatchObject({ status: 'FAILED', exitCode: 1, totalTests: 2, flaky: 1, failed: 1, passed: 0 });
    const tests = (await api('GET', `/api/executions/${taskId}/tests`, { token: org.token })).json.data;
    expect(tests).toHaveLength(3);
  });

  it("an org dashboard socket hears of each run's status changes, in order (a status within one interval may be skipped)", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const hub = await openSocket(`/api/live?ticket=${await wsTicket(org.token)}`);
    if (hub.status !== 101) throw new Error('no socket');
    const taskId = await requestRun(org, project.id);
    await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token });
    await hub.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: any) => e.taskId === taskId && e.status === 'CANCELLED')));
    const statuses = hub.messages.flatMap((x) => (x.type === 'executions' ? x.updated : [])).map((e: any) => e.status);
    expect([['PENDING', 'CANCELLED'], ['CANCELLED']]).toContainEqual(statuses);
  });

  it('loses neither queued jobs nor stored log when objects are evicted', async () => {
    const { org, agent, taskId } = await runningJob();
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [chunk(1), chunk(2)] });
    const project = await createProject(org.token);
    const queued = await requestRun(org, project.id);
    await evictDurableObject(dispatcher(org.organizationId), { webSockets: 'close' });
    await evictDurableObject(room(taskId), { webSockets: 'close' });
    expect((await poll(agent, 0))?.taskId).toBe(queued);
    const logs = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data;
    expect(logs.chunks.filter((c: any) => c.stream === 'stdout').map((c: any) => c.data)).toEqual(['line 1\n', 'line 2\n']);
    // The lease survived too: the agent goes on with chunk 3 and its heartbeat.
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [chunk(2), chunk(3)] })).json.data.upTo).toBe(3);
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(200);
  });
});

describe('tenancy', () => {
  it("another org's agent, viewer or member gets 404 for a run", async () => {
    const a = await signup();
    const b = await signup();
    const project = await createProject(a.token);
    const agentA = await registerAgent(a);
    const agentB = await registerAgent(b);
    const taskId = await requestRun(a, project.id);
    expect(await poll(agentB, 0)).toBeNull();
    await poll(agentA, 0);
    expect((await agentApi(agentB, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(404);
    expect((await agentApi(agentB, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: 'x' }] })).status).toBe(404);
    expect((await agentApi(agentB, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'PASSED', exitCode: 0 })).status).toBe(404);
    const stream = await openSocket(`/api/agent/jobs/${taskId}/stream`, { authorization: `Bearer ${agentB.token}` });
    expect(stream.status).toBe(404);
    for (const path of ['', '/logs', '/tests', '/artifacts']) {
      expect((await api('GET', `/api/executions/${taskId}${path}`, { token: b.token })).status).toBe(404);
    }
    expect((await api('POST', `/api/executions/${taskId}/cancel`, { token: b.token })).status).toBe(404);
    expect((await api('POST', '/api/auth/ws-ticket', { token: b.token, body: { taskId } })).status).toBe(404);
    const viewer = await openSocket(`/api/executions/${taskId}/live?ticket=${await wsTicket(b.token)}`);
    expect(viewer.status).toBe(404);
    const list = await api('GET', '/api/executions', { token: b.token });
    expect(list.json.data.items).toEqual([]);
  });

  it('a ticket is single use and bound to its execution', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const t1 = await requestRun(org, project.id);
    const t2 = await requestRun(org, project.id);
    const ticket = await wsTicket(org.token, t1);
    expect((await openSocket(`/api/executions/${t2}/live?ticket=${ticket}`)).status).toBe(401);
    const ticket2 = await wsTicket(org.token, t1);
    expect((await openSocket(`/api/executions/${t1}/live?ticket=${ticket2}`)).status).toBe(101);
    expect((await openSocket(`/api/executions/${t1}/live?ticket=${ticket2}`)).status).toBe(401);
    // A ticket is not a session token.
    expect((await api('GET', '/api/auth/me', { token: ticket })).status).toBe(401);
  });
});

describe('listing', () => {
  it('lists newest first with filters and cursor pagination', async () => {
    const org = await signup();
    const p1 = await createProject(org.token);
    const p2 = await createProject(org.token);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await requestRun(org, i % 2 ? p2.id : p1.id, { environment: i % 2 ? 'production' : 'staging' }));
    await api('POST', `/api/executions/${ids[0]}/cancel`, { token: org.token });
    const page1 = await api('GET', '/api/executions?limit=2', { token: org.token });
    const page2 = await api('GET', `/api/executions?limit=2&cursor=${encodeURIComponent(page1.json.data.nextCursor)}`, { token: org.token });
    const page3 = await api('GET', `/api/executions?limit=2&cursor=${encodeURIComponent(page2.json.data.nextCursor)}`, { token: org.token });
    const all = [...page1.json.data.items, ...page2.json.data.items, ...page3.json.data.items].map((e: any) => e.taskId);
    expect(all).toEqual([...ids].reverse());
    expect(page3.json.data.nextCursor).toBeNull();
    const byProject = await api('GET', `/api/executions?projectId=${p2.id}`, { token: org.token });
    expect(byProject.json.data.items.map((e: any) => e.taskId).sort()).toEqual([ids[1], ids[3]].sort());
    const cancelled = await api('GET', '/api/executions?status=cancelled', { token: org.token });
    expect(cancelled.json.data.items.map((e: any) => e.taskId)).toEqual([ids[0]]);
    const prod = await api('GET', '/api/executions?environment=production&source=agnox-hosted', { token: org.token });
    expect(prod.json.data.items).toHaveLength(2);
    expect((await api('GET', '/api/executions?source=external-ci', { token: org.token })).json.data.items).toHaveLength(0);
    expect((await api('GET', '/api/executions?status=NOPE', { token: org.token })).status).toBe(400);
    expect((await api('GET', '/api/executions?cursor=zzz', { token: org.token })).status).toBe(400);
  });

  it('names each run and finds runs by name, branch or commit, case-insensitively, within the org only', async () => {
    const [org, other] = [await signup(), await signup()];
    const [key, otherKey] = [await createApiKey(org), await createApiKey(other)];
    const project = await createProject(org.token);
    const report = async (apiKey: string, projectId: string, runName: string, ciContext: Record<string, unknown>) => {
      const res = await api('POST', '/api/ingest/setup', {
        apiKey,
        body: { projectId, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1, runName, ciContext },
      });
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      return res.json.data.taskId as string;
    };
    const smoke = await report(key, project.id, 'Nightly Checkout Smoke', { source: 'github', branch: 'feature/PAY-12_fast', commitSha: 'abc123def456' });
    const release = await report(key, project.id, 'Release 7', { source: 'github', branch: 'main', commitSha: 'ffee99' });
    const triggered = await api('POST', '/api/ci/trigger', {
      apiKey: key,
      body: { projectId: project.id, ciContext: { source: 'github', branch: 'hotfix/login', commitSha: '0ddba11' } },
    });
    expect(triggered.status).toBe(201);
    const queued = await requestRun(org, project.id);
    // The same name, branch and commit in another org.
    await report(otherKey, (await createProject(other.token)).id, 'Nightly Checkout Smoke', {
      source: 'github',
      branch: 'feature/PAY-12_fast',
      commitSha: 'abc123def456',
    });

    const all = await api('GET', '/api/executions', { token: org.token });
    const names = Object.fromEntries(all.json.data.items.map((e: any) => [e.taskId, e.name]));
    expect(names).toEqual({ [smoke]: 'Nightly Checkout Smoke', [release]: 'Release 7', [triggered.json.data.taskId]: null, [queued]: null });
    expect((await api('GET', `/api/executions/${smoke}`, { token: org.token })).json.data.name).toBe('Nightly Checkout Smoke');

    const found = async (q: string) =>
      (await api('GET', `/api/executions?q=${encodeURIComponent(q)}`, { token: org.token })).json.data.items.map((e: any) => e.taskId);
    expect(await found('checkout smoke')).toEqual([smoke]);
    expect(await found('pay-12')).toEqual([smoke]);
    expect(await found('ABC123')).toEqual([smoke]);
    expect(await found('main')).toEqual([release]);
    expect(await found('HOTFIX')).toEqual([triggered.json.data.taskId]);
    expect(await found('  release 7 ')).toEqual([release]);
    // % and _ are plain characters, not patterns.
    expect(await found('_')).toEqual([smoke]);
    expect(await found('%')).toEqual([]);
    expect(await found('')).toHaveLength(4);
    // The search works with the other filters and through an API key.
    expect((await api('GET', `/api/executions?q=smoke&status=PENDING`, { token: org.token })).json.data.items).toEqual([]);
    expect((await api('GET', '/api/executions?q=smoke', { apiKey: key })).json.data.items.map((e: any) => e.taskId)).toEqual([smoke]);

    const tooLong = await api('GET', `/api/executions?q=${'x'.repeat(101)}`, { token: org.token });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
  });
});

describe('log storage limits', () => {
  it("caps a run's stored log with one clear truncation marker (LOG_MAX_BYTES is 64 KB in tests)", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    await poll(agent, 0);
    const viewer = await openSocket(`/api/executions/${taskId}/live?ticket=${await wsTicket(org.token, taskId)}`);
    if (viewer.status !== 101) throw new Error('no socket');
    const big = 'y'.repeat(8 * 1024);
    const chunks = Array.from({ length: 12 }, (_, i) => ({ seq: i + 1, stream: 'stdout', data: big }));
    const res = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks });
    expect(res.json.data.upTo).toBe(12); // acked all the same, so the agent does not resend forever
    const logs = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data;
    expect(logs.truncated).toBe(true);
    const bytes = logs.chunks.reduce((n: number, c: any) => n + c.data.length, 0);
    expect(bytes).toBeLessThan(64 * 1024 + 1024);
    expect(logs.chunks.at(-1)).toMatchObject({ stream: 'system' });
    expect(logs.chunks.at(-1).data).toContain('log truncated');
    await viewer.until((m) => m.some((x) => x.type === 'truncated'));
  });

  it("deletes a finished run's log when its retention alarm fires", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const taskId = await requestRun(org, project.id);
    await poll(agent, 0);
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/logs`, { type: 'chunks', chunks: [{ seq: 1, data: 'kept for now\n' }] });
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'PASSED', exitCode: 0 });
    const stored = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data;
    expect(stored.chunks.map((c: any) => c.data).join('')).toContain('kept for now');
    const alarmAt = await runInDurableObject(room(taskId), (_i, state) => state.storage.getAlarm());
    expect(alarmAt! - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000); // the free plan keeps 30 days
    // The alarm asks D1 for the run's current expiry: not reached yet, so it re-arms and keeps the log.
    expect(await runDurableObjectAlarm(room(taskId))).toBe(true);
    expect((await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data.chunks.length).toBeGreaterThan(0);
    expect(await runInDurableObject(room(taskId), (_i, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now());
    await env.DB.prepare('UPDATE executions SET finished_at = ? WHERE task_id = ?')
      .bind(Date.now() - 31 * 24 * 3600 * 1000, taskId)
      .run();
    expect(await runDurableObjectAlarm(room(taskId))).toBe(true);
    const after = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data;
    expect(after.chunks).toEqual([]);
  });
});

describe('agents', () => {
  it('lists agents with online state, lets an admin disable one, and refuses a disabled agent', async () => {
    const org = await signup();
    const agent = await registerAgent(org, { pool: 'a' });
    const list = (await api('GET', '/api/agents', { token: org.token })).json.data;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: agent.id, online: true, arch: 'arm64', labels: { pool: 'a', arch: 'arm64', os: 'linux' } });
    expect(JSON.stringify(list)).not.toContain(agent.token);
    await env.DB.prepare('UPDATE agents SET last_seen_at = ? WHERE id = ?')
      .bind(Date.now() - 10 * 60_000, agent.id)
      .run();
    expect((await api('GET', '/api/agents', { token: org.token })).json.data[0].online).toBe(false);
    expect((await api('PATCH', `/api/agents/${agent.id}`, { token: org.token, body: { disabled: true } })).json.data.disabled).toBe(true);
    const refused = await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 });
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain('disabled');
  });

  it('refuses an agent disabled elsewhere within CREDENTIAL_CACHE_MS (the token lookup is cached), and one disabled or removed here at once', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(204);
    // Disabled by another isolate (straight in D1): this isolate's cached row still lets it poll, until it expires.
    await env.DB.prepare('UPDATE agents SET disabled = 1 WHERE id = ?').bind(agent.id).run();
    expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(204);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + CREDENTIAL_CACHE_MS + 1);
      expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(403);
    } finally {
      vi.useRealTimers();
    }

    const other = await registerAgent(org);
    expect((await agentApi(other, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(204);
    expect((await api('PATCH', `/api/agents/${other.id}`, { token: org.token, body: { disabled: true } })).status).toBe(200);
    expect((await agentApi(other, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(403);
    const third = await registerAgent(org);
    expect((await agentApi(third, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(204);
    expect((await api('DELETE', `/api/agents/${third.id}`, { token: org.token })).status).toBe(200);
    expect((await agentApi(third, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(401);
  });

  it("writes an agent's lastSeenAt to D1 at most once a minute; the list shows the Dispatcher's fresher view", async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const stored = async () => (await env.DB.prepare('SELECT last_seen_at AS at FROM agents WHERE id = ?').bind(agent.id).first<{ at: number }>())!.at;
    const first = await stored();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(first + 30_000);
      expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0, running: ['run_a'] })).status).toBe(204);
      expect(await stored()).toBe(first); // no D1 write half a minute later…
      const listed = (await api('GET', '/api/agents', { token: org.token })).json.data[0];
      expect(listed).toMatchObject({ lastSeenAt: first + 30_000, runningJobs: 1, online: true }); // …yet the list has the poll

      vi.setSystemTime(first + SEEN_WRITE_INTERVAL_MS + 1);
      expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0, running: [] })).status).toBe(204);
      expect(await stored()).toBe(first + SEEN_WRITE_INTERVAL_MS + 1); // a minute on, D1 hears of it
    } finally {
      vi.useRealTimers();
    }
  });

  it('a registration token works once and expires', async () => {
    const org = await signup();
    const reg = (await api('POST', '/api/agents/registration-tokens', { token: org.token, body: { expiresInMinutes: 5 } })).json.data;
    // The suggested commands keep the token out of any process's argv (`ps`): the installer asks for it, the agent reads it from its environment.
    expect(reg.installCommand).not.toContain(reg.token);
    expect(reg.installCommand).toMatch(/install-agent\.sh \| sudo AGNOX_URL=\S+ bash$/);
    expect(reg.runCommand).toMatch(new RegExp(`^AGNOX_TOKEN=${reg.token} npx @agnox/agent --url \\S+$`));
    const body = { token: reg.token, name: 'box', arch: 'amd64', os: 'linux', version: '1' };
    expect((await api('POST', '/api/agent/register', { body })).status).toBe(201);
    expect((await api('POST', '/api/agent/register', { body })).status).toBe(401);
    const late = (await api('POST', '/api/agents/registration-tokens', { token: org.token, body: {} })).json.data;
    await env.DB.prepare('UPDATE agent_registration_tokens SET expires_at = ? WHERE organization_id = ? AND used_at IS NULL')
      .bind(Date.now() - 1, org.organizationId)
      .run();
    expect((await api('POST', '/api/agent/register', { body: { ...body, token: late.token } })).status).toBe(401);
    const row = await env.DB.prepare('SELECT token_hash FROM agents WHERE organization_id = ?').bind(org.organizationId).first<{ token_hash: string }>();
    expect(row!.token_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
