// What the fault scripts taught the agent protocol (`npm run faults`):
//  - agent-sigkill: an agent that restarts gives its old job back with its first poll (the poll lists
//    what it runs), instead of the run waiting for the lease to lapse;
//  - docker-stop: an agent whose Docker engine is gone says so in its polls, and the agents list
//    shows it unhealthy until it polls without the problem.
import { describe, expect, it } from 'vitest';
import { agentApi, api, createProject, registerAgent, signup, type Org } from './helpers';

async function requestRun(org: Org) {
  const project = await createProject(org.token);
  const res = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data.taskId as string;
}

const pollWith = async (agent: Awaited<ReturnType<typeof registerAgent>>, body: Record<string, unknown>) => {
  const res = await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0, ...body });
  expect([200, 204], JSON.stringify(res.json)).toContain(res.status);
  return res.status === 204 ? null : res.json.data.job;
};

describe('agent recovery', () => {
  it('a poll that no longer lists a leased job gives it back at once; the next attempt takes it', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const taskId = await requestRun(org);
    expect((await pollWith(agent, { running: [] }))?.taskId).toBe(taskId);
    // Still running it: the lease stays.
    expect(await pollWith(agent, { running: [taskId], capacity: 0 })).toBeNull();
    expect((await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data).toMatchObject({ status: 'RUNNING', attempt: 1 });
    // Restarted without it: the same poll hands it out again as attempt 2.
    const again = await pollWith(agent, { running: [] });
    expect(again).toMatchObject({ taskId, attempt: 2 });
    const log = (await api('GET', `/api/executions/${taskId}/logs`, { token: org.token })).json.data.chunks.map((c: any) => c.data).join('');
    expect(log).toContain('agent lost (the agent no longer runs it: it restarted or never received it); job requeued, attempt 2 of 3');
  });

  it("a new poll replaces the agent's waiting one (a drain withdraws it), so no job goes to a poll nobody reads", async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const abandoned = agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 20_000 });
    // The withdrawal can overtake the waiting poll on its way in: repeat until that one has answered.
    let settled = false;
    void abandoned.then(() => {
      settled = true;
    });
    while (!settled) {
      expect(await pollWith(agent, { capacity: 0 })).toBeNull();
      await Promise.race([abandoned, new Promise((r) => setTimeout(r, 50))]);
    }
    expect((await abandoned).status).toBe(204);
    const taskId = await requestRun(org);
    expect((await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data).toMatchObject({ status: 'PENDING' });
    expect((await pollWith(agent, {}))?.taskId).toBe(taskId);
  });

  it('a poll without the running list leaves leases alone', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const taskId = await requestRun(org);
    expect((await pollWith(agent, {}))?.taskId).toBe(taskId);
    expect(await pollWith(agent, {})).toBeNull();
    expect((await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data).toMatchObject({ status: 'RUNNING', attempt: 1 });
  });

  it('an agent that reports a health problem is listed unhealthy with the reason, and healthy once it stops', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const listed = async () => (await api('GET', '/api/agents', { token: org.token })).json.data.find((a: any) => a.id === agent.id);
    expect(await listed()).toMatchObject({ healthy: true, healthProblem: null });
    const problem = 'cannot reach the Docker engine (connect ENOENT /var/run/docker.sock)';
    expect(await pollWith(agent, { capacity: 0, running: [], healthProblem: problem })).toBeNull();
    expect(await listed()).toMatchObject({ healthy: false, healthProblem: problem, online: true });
    await pollWith(agent, { capacity: 0, running: [] });
    expect(await listed()).toMatchObject({ healthy: true, healthProblem: null });
  });
});
