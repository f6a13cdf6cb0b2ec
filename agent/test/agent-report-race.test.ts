// The result report and the heartbeats do not race. A heartbeat that reaches the control plane
// after the report released the lease is answered 404: harmless for the agent, but a 4xx for
// nothing in every log. With heartbeats every 20 ms one is nearly always on its way when a job
// ends, so the agent must let it land before reporting and send none while the report is out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureBusyboxImage } from './support/images';
import { type JobRewritingProxy, startJobRewritingProxy } from './support/job-rewriting-proxy';

let h: Harness;
let proxy: JobRewritingProxy;
let agent: RunningAgent;
let busybox: string;
const answers: { method: string; path: string; status: number }[] = [];

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  h = await startHarness();
  proxy = await startJobRewritingProxy(
    h.cp.url,
    (job) => job,
    (method, path, status) => answers.push({ method, path, status }),
  );
  agent = await startAgent(h, { url: proxy.url, heartbeatIntervalMs: 20 });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

describe('result report vs heartbeats', () => {
  it('no heartbeat is answered 404 around the report of 5 jobs, each reported PASSED', async () => {
    const projectId = await h.project({ image: busybox, command: 'echo done' });
    for (let i = 0; i < 5; i++) {
      const taskId = await h.requestRun({ projectId });
      expect((await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'])).status).toBe('PASSED');
      // The agent has logged the job's outcome: its heartbeats for the job are over.
      await waitFor(`the agent to log ${taskId}'s outcome`, () => agent.lines.some((l) => l.includes(`job ${taskId}: PASSED`)));
    }
    const heartbeats = answers.filter((a) => a.path.endsWith('/heartbeat'));
    expect(heartbeats.length).toBeGreaterThan(5);
    expect(heartbeats.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.path.endsWith('/complete')).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  });
});
