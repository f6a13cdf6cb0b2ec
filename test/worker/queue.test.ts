// The queued side of dispatch (durable-objects/Dispatcher.ts, worker/runs/queue.ts): a claim finds a
// job the agent can take whatever is queued ahead of it, the hosted queue's shards lend each other
// work, fairness across orgs holds within and across shards, and a PENDING job is found in its shard.
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Dispatcher, JobPayload, PollAnswer } from '../../durable-objects/Dispatcher';
import { HOSTED_QUEUE_SHARDS, enqueueJob, homeShard, jobShard, pollQueue, queueShards } from '../../worker/runs/queue';
import { agentApi, api, createProject, registerAgent, signup, type Org } from './helpers';

const dispatcher = (name: string) => env.DISPATCHER.get(env.DISPATCHER.idFromName(name));

const payload = (taskId: string): JobPayload => ({
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
  pullPolicy: 'never',
  reportDir: '/reports',
});

const taskIdOf = (answer: PollAnswer) => (answer && 'taskId' in answer ? answer.taskId : null);

/** Ids `${prefix}-0`, `${prefix}-1`, … whose hash puts them in `shard` of the hosted queue. */
function idsIn(shard: string, prefix: string, count: number, of: (queue: string, id: string) => string = jobShard) {
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (of('hosted', `${prefix}-${i}`) === shard) ids.push(`${prefix}-${i}`);
  return ids;
}

/** Which state the shard's row of this job is in, or null when the shard does not hold it. */
const stateIn = (shard: string, taskId: string) =>
  runInDurableObject(
    dispatcher(shard),
    (_instance, state) => state.storage.sql.exec<{ state: string }>('SELECT state FROM jobs WHERE task_id = ?', taskId).toArray()[0]?.state ?? null,
  );

async function requestHostedRun(org: Org, labels: Record<string, string>) {
  const project = await createProject(org.token);
  const res = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id, queue: 'hosted', labels } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data.taskId as string;
}

/** An agent of the platform's fleet (the hosted queue), whose home shard is not `avoid`. */
async function hostedAgent(org: Org, labels: Record<string, string>, avoid: string) {
  for (;;) {
    const agent = await registerAgent(org, labels);
    if (homeShard('hosted', agent.id) === avoid) continue;
    // Before the agent's first authenticated call, so no isolate has its row cached.
    await env.DB.prepare("UPDATE agents SET queue = 'hosted' WHERE id = ?").bind(agent.id).run();
    return agent;
  }
}

describe('claiming without a scan', () => {
  it('an arm64 agent takes its job with 10,000 amd64-only jobs queued ahead of it', async () => {
    const stub = dispatcher(`head-of-line-${crypto.randomUUID()}`);
    await runInDurableObject(stub, async (instance: Dispatcher) => {
      for (let i = 0; i < 10_000; i++) await instance.enqueue({ organizationId: 'busy', labels: { arch: 'amd64' }, payload: payload(`amd64-${i}`) });
      await instance.enqueue({ organizationId: 'busy', labels: { arch: 'arm64' }, payload: payload('arm64-0') });
    });
    const arm = { agentId: 'arm', organizationId: 'platform', labels: { arch: 'arm64', os: 'linux' } };
    expect(taskIdOf(await stub.poll(arm, 1, 0))).toBe('arm64-0');
    expect(await stub.poll(arm, 1, 0)).toBeNull();
    // FIFO holds for the jobs ahead.
    const amd = { agentId: 'amd', organizationId: 'platform', labels: { arch: 'amd64', os: 'linux' } };
    expect(taskIdOf(await stub.poll(amd, 1, 0))).toBe('amd64-0');
    expect(await stub.stats()).toMatchObject({ queued: 9_999, leased: 2 });
  });

  it('a job with several labels goes to an agent having all of them, in whichever order they were given', async () => {
    const stub = dispatcher(`label-sets-${crypto.randomUUID()}`);
    await stub.enqueue({ organizationId: 'o', labels: { pool: 'gpu', arch: 'arm64' }, payload: payload('gpu-arm') });
    await stub.enqueue({ organizationId: 'o', labels: { arch: 'arm64', pool: 'gpu' }, payload: payload('arm-gpu') });
    // One label set, indexed once.
    const sets = await runInDurableObject(stub, (_i, state) => state.storage.sql.exec('SELECT labels, queued FROM label_sets').toArray());
    expect(sets).toEqual([{ labels: '{"arch":"arm64","pool":"gpu"}', queued: 2 }]);
    expect(await stub.poll({ agentId: 'plain', organizationId: 'x', labels: { arch: 'arm64' } }, 1, 0)).toBeNull();
    const gpu = { agentId: 'gpu', organizationId: 'x', labels: { os: 'linux', arch: 'arm64', pool: 'gpu' } };
    expect([taskIdOf(await stub.poll(gpu, 1, 0)), taskIdOf(await stub.poll(gpu, 1, 0))]).toEqual(['gpu-arm', 'arm-gpu']);
  });
});

describe('hosted queue shards', () => {
  it(`splits the hosted queue into ${HOSTED_QUEUE_SHARDS} shards; an org's queue stays one Dispatcher`, () => {
    expect(queueShards('hosted')).toHaveLength(HOSTED_QUEUE_SHARDS);
    expect(queueShards('org:o1')).toEqual(['org:o1']);
    expect(jobShard('org:o1', 'run_x')).toBe('org:o1');
  });

  it('a hosted job waits in the shard of its taskId; an agent at home in another shard steals it, heartbeats and completes it', async () => {
    const org = await signup();
    const lane = { lane: crypto.randomUUID() };
    const taskId = await requestHostedRun(org, lane);
    const shard = jobShard('hosted', taskId);
    expect(await stateIn(shard, taskId)).toBe('queued');
    const agent = await hostedAgent(org, lane, shard);
    const res = await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 });
    expect(res.json.data?.job?.taskId).toBe(taskId);
    expect(await stateIn(shard, taskId)).toBe('leased');
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(200);
    const done = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'PASSED', exitCode: 0 });
    expect(done.json.data).toMatchObject({ status: 'PASSED' });
    expect(await stateIn(shard, taskId)).toBeNull();
  });

  it('a poll waiting in its home shard is offered a job queued in another shard, and takes it', async () => {
    const home = 'hosted#1';
    const [agentId] = idsIn(home, 'waiting-agent', 1, homeShard);
    const [taskId] = idsIn('hosted#5', `offered-${crypto.randomUUID()}`, 1);
    const labels = { lane: crypto.randomUUID() };
    const agent = { agentId: agentId!, organizationId: 'platform', labels: { ...labels, arch: 'arm64' } };
    const polling = pollQueue(env, 'hosted', agent, 1, 15_000);
    while ((await dispatcher(home).stats()).waiting === 0) await new Promise((r) => setTimeout(r, 5));
    await enqueueJob(env, 'hosted', { organizationId: 'o', labels, payload: payload(taskId!) });
    expect((await polling)?.taskId).toBe(taskId);
    expect(await stateIn('hosted#5', taskId!)).toBe('leased');
  });

  it('keeps orgs fair across shards: a small org is served in every shard right after the big one, not behind its backlog', async () => {
    const run = crypto.randomUUID();
    const labels = { lane: run };
    const shards = queueShards('hosted');
    const agents = shards.map((shard, k) => ({ agentId: idsIn(shard, `fair-agent-${k}`, 1, homeShard)[0]!, organizationId: 'platform', labels }));
    for (const shard of shards) {
      for (const taskId of idsIn(shard, `big-${run}`, 10)) await enqueueJob(env, 'hosted', { organizationId: `big-${run}`, labels, payload: payload(taskId) });
    }
    for (const shard of shards) {
      const [taskId] = idsIn(shard, `small-${run}`, 1);
      await enqueueJob(env, 'hosted', { organizationId: `small-${run}`, labels, payload: payload(taskId!) });
    }
    const served: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (const agent of agents) served.push((await pollQueue(env, 'hosted', agent, 1, 0))!.organizationId);
    }
    expect(served.filter((org) => org === `small-${run}`)).toHaveLength(shards.length);
    expect(served.slice(0, shards.length).every((org) => org === `big-${run}`)).toBe(true);
  });

  it('cancels a PENDING hosted run in its shard: the job is gone and no agent gets it', async () => {
    const org = await signup();
    const lane = { lane: crypto.randomUUID() };
    const taskId = await requestHostedRun(org, lane);
    const shard = jobShard('hosted', taskId);
    expect(await stateIn(shard, taskId)).toBe('queued');
    const res = await api('POST', `/api/executions/${taskId}/cancel`, { token: org.token });
    expect(res.json.data).toMatchObject({ cancelled: 'now', status: 'CANCELLED' });
    expect(await stateIn(shard, taskId)).toBeNull();
    const agent = await hostedAgent(org, lane, '');
    expect((await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 })).status).toBe(204);
  });
});
