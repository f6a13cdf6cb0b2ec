// The built agent as a real process: first run registers and stores its identity (0600), a second
// run reuses it; SIGTERM drains; a second SIGTERM stops running jobs (agent_stop); kill -9 mid-job
// leaves a container that the next start removes, and the control plane requeues the job.
import Docker from 'dockerode';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_TASK } from '../src/docker-runner';
import { type Harness, logTextOf, startHarness, waitFor } from './support/control-plane';
import { type AgentProcess, buildAgent, spawnAgent } from './support/agent-process';
import { ensureBusyboxImage } from './support/images';

let h: Harness;
let busybox: string;
const docker = new Docker();
const started: AgentProcess[] = [];

beforeAll(async () => {
  buildAgent();
  busybox = ensureBusyboxImage();
  h = await startHarness();
});

afterAll(async () => {
  for (const a of started)
    if (a.child.exitCode === null) {
      a.signal('SIGKILL');
      await a.exited;
    }
  await h?.stop();
});

const home = () => mkdtempSync(path.join(tmpdir(), 'agnox-agent-home-'));
async function launch(stateDir: string, token?: string, extra: string[] = []) {
  const a = spawnAgent([
    '--url',
    h.cp.url,
    '--state-dir',
    stateDir,
    '--name',
    `proc-${path.basename(stateDir)}`,
    ...(token ? ['--token', token] : []),
    ...extra,
  ]);
  started.push(a);
  await waitFor('the agent to poll', () => a.output().includes('polling') || (a.child.exitCode !== null && Promise.reject(new Error(a.output()))), 30_000);
  return a;
}
const identity = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'agent.json'), 'utf8'));

describe('agnox-agent process', () => {
  it('registers on the first run, stores the token for its user only, and reuses it', async () => {
    const dir = home();
    const first = await launch(dir, await h.registrationToken());
    expect(statSync(path.join(dir, 'agent.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const { agentId, agentToken } = identity(dir);
    expect(agentToken).toMatch(/^agt_/);
    first.signal('SIGTERM');
    expect(await first.exited).toBe(0);
    // No token the second time: the stored identity is used (a used registration token would be refused).
    const second = await launch(dir);
    expect(identity(dir).agentId).toBe(agentId);
    expect(second.output()).toContain(agentId);
    second.signal('SIGTERM');
    expect(await second.exited).toBe(0);
    const agents: any[] = ((await (await fetch(`${h.cp.url}/api/agents`, { headers: { authorization: `Bearer ${h.org.token}` } })).json()) as any).data;
    const me = agents.find((a: any) => a.id === agentId);
    expect(me.labels).toMatchObject({ arch: 'amd64', os: 'linux' });
    expect(me.version).toBe('0.1.0');
  });

  it('explains a missing token and a bad flag without a stack trace', async () => {
    const noToken = spawnAgent(['--url', h.cp.url, '--state-dir', home()]);
    expect(await noToken.exited).toBe(1);
    expect(noToken.output()).toContain('pass --token <registration token>');
    expect(noToken.output()).not.toMatch(/\n\s+at /);
    const badFlag = spawnAgent(['--url', h.cp.url, '--concurrency', 'many']);
    expect(await badFlag.exited).toBe(2);
    expect(badFlag.output()).toContain('--concurrency: "many" must be an integer');
  });

  it('SIGTERM drains: the running job finishes PASSED, no new job is taken, the agent exits 0', async () => {
    // A label of its own, so that no other test's agent can take this test's jobs.
    const labels = { drain: `d${Date.now()}` };
    const a = await launch(home(), await h.registrationToken(), ['--labels', `drain=${labels.drain}`]);
    const projectId = await h.project({ image: busybox, command: 'echo begin; sleep 3; echo finished' });
    const taskId = await h.requestRun({ projectId, labels });
    await h.waitForStatus(taskId, ['RUNNING']);
    a.signal('SIGTERM');
    await waitFor('the agent to start draining', () => a.output().includes('draining'));
    const later = await h.requestRun({ projectId, labels });
    expect(await a.exited).toBe(0);
    const run = await h.execution(taskId);
    expect(run.status, a.output()).toBe('PASSED');
    expect(logTextOf(await h.logs(taskId))).toContain('finished');
    expect((await h.execution(later)).status).toBe('PENDING');
    await h.cancel(later);
  });

  it('a second SIGTERM stops the running job, reports it (ERROR agent_stop), then exits', async () => {
    const a = await launch(home(), await h.registrationToken());
    const projectId = await h.project({ image: busybox, command: 'echo begin; sleep 600' });
    const taskId = await h.requestRun({ projectId });
    await h.waitForStatus(taskId, ['RUNNING']);
    await waitFor('output', async () => logTextOf(await h.logs(taskId)).includes('begin'));
    a.signal('SIGTERM');
    await waitFor('the agent to start draining', () => a.output().includes('draining'));
    a.signal('SIGTERM');
    expect(await a.exited).toBe(0);
    const run = await h.execution(taskId);
    expect(run.status).toBe('ERROR');
    expect(run.reason).toBe('agent_stop');
    expect(logTextOf(await h.logs(taskId))).toContain('the agent was stopped');
  });

  it('an admin disables the agent mid-job: it stops the container, does not report the run, and exits explaining why', async () => {
    const dir = home();
    const a = await launch(dir, await h.registrationToken());
    const { agentId } = identity(dir);
    const projectId = await h.project({ image: busybox, command: 'echo begin; sleep 600' });
    const taskId = await h.requestRun({ projectId });
    await h.waitForStatus(taskId, ['RUNNING']);
    await waitFor('the container to run', async () => (await docker.listContainers({ filters: { label: [`${LABEL_TASK}=${taskId}`] } }))[0]);
    const t0 = Date.now();
    const res = await fetch(`${h.cp.url}/api/agents/${agentId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${h.org.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    });
    expect(res.status).toBe(200);
    expect(await a.exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(a.output()).toContain('This agent was disabled by an admin');
    expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL_TASK}=${taskId}`] } })).toEqual([]);
    // Not reported by this agent: the control plane ends or requeues it when the lease lapses.
    expect((await h.execution(taskId)).status).toBe('RUNNING');
    // Cancelled, so the lapsed lease ends the run instead of requeuing it for the next test's agent.
    await h.cancel(taskId);
  });

  it('kill -9 mid-job: the next start removes the leftover container; the job is requeued and passes on attempt 2', async () => {
    const dir = home();
    const a = await launch(dir, await h.registrationToken());
    const { agentId } = identity(dir);
    const projectId = await h.project({ image: busybox, command: 'echo "attempt $AGNOX_TASK_ID"; sleep 4; echo done' });
    const taskId = await h.requestRun({ projectId });
    await h.waitForStatus(taskId, ['RUNNING']);
    const leftover = await waitFor('the container to run', async () => (await docker.listContainers({ filters: { label: [`${LABEL_TASK}=${taskId}`] } }))[0]);
    a.signal('SIGKILL');
    await a.exited;
    expect((await docker.getContainer(leftover.Id).inspect()).Config.Labels['agnox.agent']).toBe(agentId);

    const b = await launch(dir);
    expect(b.output()).toMatch(/removed 1 leftover container\(s\) of an earlier run: run_/);
    await expect(docker.getContainer(leftover.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // The lease lapses (30 s without heartbeat); the control plane requeues; the restarted agent takes it.
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'], 100_000);
    expect(run.status).toBe('PASSED');
    expect(run.attempt).toBe(2);
    const log = logTextOf(await h.logs(taskId));
    expect(log).toMatch(/agent lost .*requeued/);
    expect(log).toContain('attempt 2');
    b.signal('SIGTERM');
    expect(await b.exited).toBe(0);
  }, 150_000);
});
