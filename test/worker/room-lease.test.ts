// A running job's lease lives in its run's ExecutionRoom (durable-objects/ExecutionRoom.ts): the
// Dispatcher's claim records it there, heartbeats renew it there, and the room's alarm ends it. These
// tests let deadlines pass by moving them in the room's storage, then run the room's alarm.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { MAX_JOB_ATTEMPTS, TIMEOUT_GRACE_MS } from '../../worker/contracts/agent';
import { agentApi, api, createProject, poll, registerAgent, signup, type Org, type TestAgent } from './helpers';

const dispatcher = (orgId: string) => env.DISPATCHER.get(env.DISPATCHER.idFromName(`org:${orgId}`));
const room = (taskId: string) => env.EXECUTION_ROOM.get(env.EXECUTION_ROOM.idFromName(taskId));

async function runningJob(extra: Record<string, unknown> = {}) {
  const org = await signup();
  const agent = await registerAgent(org);
  const project = await createProject(org.token);
  const res = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id, ...extra } });
  const taskId = res.json.data.taskId as string;
  expect(await poll(agent, 0)).toMatchObject({ taskId, attempt: 1 });
  return { org, agent, taskId };
}

/** Moves the room's lease row (as time passing would), then runs the room's alarm. */
async function inRoom(taskId: string, sql: string, ...args: unknown[]) {
  await runInDurableObject(room(taskId), (_i, state) => {
    state.storage.sql.exec(sql, ...args);
  });
  expect(await runDurableObjectAlarm(room(taskId))).toBe(true);
}

const heartbeat = (agent: TestAgent, taskId: string) => agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {});
const run = async (org: Org, taskId: string) => (await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data;
const log = async (org: Org, taskId: string) =>
  (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data.chunks.map((c: { data: string }) => c.data).join('');

describe('leases in the run room', () => {
  it("a lease that lapses in the run's room puts the job back: the lost agent is refused, the next poll gets attempt 2", async () => {
    const { org, agent, taskId } = await runningJob();
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 0, leased: 1 });
    await inRoom(taskId, 'UPDATE lease SET expires_at = 0');
    expect(await run(org, taskId)).toMatchObject({ status: 'PENDING', reason: 'requeued' });
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 1, leased: 0 });
    expect((await heartbeat(agent, taskId)).status).toBe(404);
    expect(await poll(agent, 0)).toMatchObject({ taskId, attempt: 2 });
    expect((await heartbeat(agent, taskId)).json.data).toMatchObject({ cancel: false });
    expect(await log(org, taskId)).toContain(`job requeued, attempt 2 of ${MAX_JOB_ATTEMPTS}`);
  });

  it('after MAX_JOB_ATTEMPTS lapsed leases the run ends ERROR agent_lost and leaves the queue', async () => {
    const { org, agent, taskId } = await runningJob();
    for (let attempt = 1; attempt <= MAX_JOB_ATTEMPTS; attempt++) {
      if (attempt > 1) expect(await poll(agent, 0)).toMatchObject({ taskId, attempt });
      await inRoom(taskId, 'UPDATE lease SET expires_at = 0');
    }
    expect(await run(org, taskId)).toMatchObject({ status: 'ERROR', reason: 'agent_lost' });
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 0, leased: 0 });
    expect(await poll(agent, 0)).toBeNull();
    // What is left of the room's alarm is the log's retention (30 days on the free plan), not a lease.
    const alarm = await runInDurableObject(room(taskId), (_i, state) => state.storage.getAlarm());
    expect(alarm! - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
  });

  it("a cancel of a RUNNING run is told in the agent's next heartbeat; if the agent never reports, the lapsed lease ends it CANCELLED", async () => {
    const { org, agent, taskId } = await runningJob();
    expect((await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token })).json.data.cancelled).toBe('requested');
    expect((await heartbeat(agent, taskId)).json.data).toMatchObject({ cancel: true, reason: 'cancel' });
    await inRoom(taskId, 'UPDATE lease SET expires_at = 0');
    expect(await run(org, taskId)).toMatchObject({ status: 'CANCELLED', reason: 'cancel' });
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 0, leased: 0 });
  });

  it('past its timeout the next heartbeat says timeout; with no report by the grace the run ends TIMED_OUT', async () => {
    const { org, agent, taskId } = await runningJob({ timeoutSeconds: 60 });
    expect((await heartbeat(agent, taskId)).json.data).toMatchObject({ cancel: false });
    await inRoom(taskId, 'UPDATE lease SET timeout_at = ?', Date.now() - 1);
    expect((await heartbeat(agent, taskId)).json.data).toMatchObject({ cancel: true, reason: 'timeout' });
    expect((await run(org, taskId)).status).toBe('RUNNING');
    // Heartbeats go on, but the agent never reports: the grace ends the run.
    await inRoom(taskId, 'UPDATE lease SET timeout_at = ?', Date.now() - TIMEOUT_GRACE_MS - 1);
    expect(await run(org, taskId)).toMatchObject({ status: 'TIMED_OUT', reason: 'timeout' });
    expect((await heartbeat(agent, taskId)).status).toBe(404);
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 0, leased: 0 });
  });

  it('the Dispatcher records the lease in the room itself: a claim whose route never got to the room is still watched', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const project = await createProject(org.token);
    const { taskId } = (await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } })).json.data;
    // The claim straight on the Dispatcher, as if the poll's route died after it.
    const job = await dispatcher(org.organizationId).poll({ agentId: agent.id, organizationId: org.organizationId, labels: agent.labels }, 1, 0);
    expect(job).toMatchObject({ taskId, attempt: 1 });
    const deadline = Date.now() + 5000;
    while ((await room(taskId).leaseOf(agent.id)) !== 1) {
      if (Date.now() > deadline) throw new Error('the room never got the lease');
      await new Promise((r) => setTimeout(r, 5));
    }
    // The room's alarm watches it: lapsed, the job goes back to the queue.
    await inRoom(taskId, 'UPDATE lease SET expires_at = 0');
    expect(await dispatcher(org.organizationId).stats()).toMatchObject({ queued: 1, leased: 0 });
  });
});
