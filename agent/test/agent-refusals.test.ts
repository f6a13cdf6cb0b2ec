// What a job may not ask, end to end: the real control plane, the real agent and engine. A payload with
// container settings (injected by a proxy standing in for a compromised or newer control plane), one
// off the contract, DOCKER_HOST aimed at the Docker socket, an image path (which the control plane
// refuses too, so the proxy injects it): each run ends ERROR, reason refused, its log saying why, before any container exists.
// And a job past its memory limit ends with "out of memory (limit …)".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, logTextOf, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureBusyboxImage } from './support/images';
import { type JobRewritingProxy, startJobRewritingProxy } from './support/job-rewriting-proxy';

let h: Harness;
let proxy: JobRewritingProxy;
let agent: RunningAgent;
let busybox: string;

/** A job whose command names an injection gets these fields added on its way to the agent. */
const INJECT: Record<string, Record<string, unknown>> = {
  'inject:settings': { privileged: true, binds: ['/var/run/docker.sock:/var/run/docker.sock'], NetworkMode: 'host' },
  'inject:off-contract': { image: 42, timeoutSeconds: 'soon' },
  'inject:image-path': { image: 'agnox-test/../../containers/x' },
};

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  h = await startHarness();
  proxy = await startJobRewritingProxy(h.cp.url, (job) => ({ ...job, ...INJECT[String(job.command)] }));
  agent = await startAgent(h, { url: proxy.url, memoryBytes: 96 * 1024 * 1024 });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

async function refusedRun(project: Parameters<Harness['project']>[0]) {
  const taskId = await h.requestRun({ projectId: await h.project(project) });
  const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
  return { run, log: logTextOf(await h.logs(taskId)) };
}

describe('refusals', () => {
  it('refuses a job whose payload carries container settings, naming them; no container is created', async () => {
    const { run, log } = await refusedRun({ image: busybox, command: 'inject:settings' });
    expect(run.status, log).toBe('ERROR');
    expect(run.reason).toBe('refused');
    expect(log).toContain('refused: the job asks for container settings this agent never takes from a job (privileged, binds, NetworkMode)');
    expect(log).not.toMatch(/agent .* runs agnox-test/); // the line logged just before the container is made
    expect(agent.lines.join('\n')).toMatch(/accepted \(agnox-test\/busybox:latest\), to be refused/);
  });

  it('refuses a payload off the contract, and still reports the run with the fields at fault', async () => {
    const { run, log } = await refusedRun({ image: busybox, command: 'inject:off-contract' });
    expect(run.status, log).toBe('ERROR');
    expect(run.reason).toBe('refused');
    expect(log).toMatch(/refused: the job does not match this agent's protocol \(image: .*; timeoutSeconds: .*\)/);
  });

  it('refuses DOCKER_HOST aimed at the Docker socket (a project variable), explaining that jobs get none', async () => {
    const { run, log } = await refusedRun({ image: busybox, command: 'docker ps', variables: { DOCKER_HOST: 'unix:///var/run/docker.sock' } });
    expect(run.status, log).toBe('ERROR');
    expect(run.reason).toBe('refused');
    expect(log).toContain('this agent never mounts /var/run/docker.sock into a job');
  });

  it('refuses an image string that is no image reference (a path with "..")', async () => {
    const { run, log } = await refusedRun({ image: busybox, command: 'inject:image-path' });
    expect(run.status, log).toBe('ERROR');
    expect(run.reason).toBe('refused');
    expect(log).toContain('refused: image "agnox-test/../../containers/x" is not a Docker image reference');
  });

  it('after the refusals the agent still runs jobs', async () => {
    const taskId = await h.requestRun({ projectId: await h.project({ image: busybox, command: 'echo still here' }) });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('PASSED');
    expect(logTextOf(await h.logs(taskId))).toContain('still here');
  });
});

describe('limits', () => {
  it('a job past its memory limit is OOM-killed and the run says so: "out of memory (limit 96 MiB)"', async () => {
    const taskId = await h.requestRun({
      projectId: await h.project({ image: busybox, command: 'echo allocating; awk \'BEGIN { s = "0123456789abcdef"; while (1) s = s s }\'' }),
    });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    const log = logTextOf(await h.logs(taskId));
    expect(run.status, log).toBe('FAILED');
    expect(run.exitCode).toBe(137);
    expect(log).toContain('out of memory (limit 96 MiB): the kernel killed a process of the job; raise --memory on the agent');
    expect(log).toContain('agent reported FAILED: out of memory (limit 96 MiB), exit code 137');
  });
});
