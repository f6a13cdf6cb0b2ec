// A slot is a job's container, not its result report. Reporting can take long — retried for minutes
// while the control plane restarts, or its answer late while the run already shows as finished —
// and a job whose container is gone must not keep the next job waiting meanwhile (the flake of
// "runs two jobs at once with concurrency 2": the previous test's job still held a slot). The
// report is held by a proxy in front of the real control plane, released by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL, type Harness, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureBusyboxImage } from './support/images';
import { type Interception, type JobRewritingProxy, startJobRewritingProxy } from './support/job-rewriting-proxy';

let h: Harness;
let proxy: JobRewritingProxy;
let agent: RunningAgent;
let busybox: string;
let intercept: (method: string, path: string) => Interception | Promise<Interception> = () => 'pass';

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  h = await startHarness();
  proxy = await startJobRewritingProxy(
    h.cp.url,
    (job) => job,
    undefined,
    (method, path) => intercept(method, path),
  );
  agent = await startAgent(h, { url: proxy.url, concurrency: 1, heartbeatIntervalMs: 200 });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

describe('an agent with one slot', () => {
  it.each([
    ['the report is held on its way to the control plane', 'request'],
    ['the control plane stored the result (the run shows PASSED) but its answer is late', 'answer'],
  ] as const)('runs the next job while the previous one is still reporting: %s', async (_name, held) => {
    const projectId = await h.project({ image: busybox, command: 'echo job' });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let reached!: () => void;
    const reportReached = new Promise<void>((r) => {
      reached = r;
    });
    let first = '';
    intercept = async (_method, path) => {
      if (!first || path !== `/api/agent/jobs/${first}/complete`) return 'pass';
      reached();
      if (held === 'answer') return { answerAfter: released };
      await released;
      return 'pass';
    };
    try {
      first = await h.requestRun({ projectId });
      await reportReached;
      if (held === 'answer') expect((await h.waitForStatus(first, FINAL)).status).toBe('PASSED');
      expect(agent.agent.running.has(first), 'the first job is still reporting').toBe(true);

      const next = await h.requestRun({ projectId });
      const run = await h.waitForStatus(next, FINAL, 30_000);
      expect(run.status).toBe('PASSED');
      expect(agent.agent.running.has(first), 'the first job was still reporting all along').toBe(true);
    } finally {
      release();
    }
    // The first job reports once it may, on its first attempt: while it reported, every poll listed
    // it as running, so the control plane did not take its lease back and give it out again.
    await waitFor('the first job to be reported', () => agent.agent.outcomes.find((o) => o.taskId === first));
    expect(agent.agent.outcomes.find((o) => o.taskId === first)?.status).toBe('PASSED');
    const firstRun = await h.waitForStatus(first, FINAL);
    expect([firstRun.status, firstRun.attempt]).toEqual(['PASSED', 1]);
    expect(agent.agent.running.size).toBe(0);
  });
});
