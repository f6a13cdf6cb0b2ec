// Network drops mid-stream between the agent and the control plane (through a TCP proxy): the log
// arrives complete, in order, with no line lost or doubled, and the run still ends PASSED.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRun } from '../src/job-runner';
import { type Harness, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { type FlakyProxy, startFlakyProxy } from './support/flaky-proxy';
import { ensureBusyboxImage } from './support/images';

let h: Harness;
let proxy: FlakyProxy;
let agent: RunningAgent;
const runs: JobRun[] = [];
let busybox: string;

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  h = await startHarness();
  proxy = await startFlakyProxy(h.cp.url);
  agent = await startAgent(h, {
    url: proxy.url,
    onJob: (run) => runs.push(run),
    streamer: { ackTimeoutMs: 1500 },
  });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

// 600 numbered lines, one every ~10 ms: about 6 s of output.
const COMMAND = 'i=1; while [ $i -le 600 ]; do echo "n=$i"; i=$((i+1)); usleep 10000; done';

async function runThroughOutage(outage: () => Promise<void>) {
  const projectId = await h.project({ image: busybox, command: COMMAND });
  const taskId = await h.requestRun({ projectId });
  await waitFor('output to flow', async () => (await h.logs(taskId)).some((c) => c.data.includes('n=50\n')), 20_000);
  const job = runs.find((r) => r.taskId === taskId)!;
  const connectsBefore = job.streamer.stats.wsConnects;
  await outage();
  const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'], 90_000);
  const chunks = await h.logs(taskId);
  const numbers = chunks
    .filter((c) => c.stream === 'stdout')
    .map((c) => c.data)
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.slice(2)));
  return { run, numbers, job, reconnects: job.streamer.stats.wsConnects - connectsBefore };
}

describe('network drops mid-stream', () => {
  it('connections reset for 2 s: every line arrives once, in order', async () => {
    const { run, numbers, reconnects } = await runThroughOutage(async () => {
      proxy.reset();
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        proxy.reset(); // also kill reconnect attempts during the outage
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    expect(run.status).toBe('PASSED');
    expect(numbers).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(reconnects).toBeGreaterThanOrEqual(1);
  });

  it('a half-open link (bytes silently dropped for 3 s): the dead socket is replaced and nothing is lost or doubled', async () => {
    const { run, numbers, reconnects } = await runThroughOutage(async () => {
      proxy.blackhole();
      await new Promise((r) => setTimeout(r, 3000));
      proxy.restore();
    });
    expect(run.status).toBe('PASSED');
    expect(numbers).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(reconnects).toBeGreaterThanOrEqual(1);
  });

  it('WebSockets refused (a plain-HTTP proxy): the whole log goes over the HTTP fallback, complete', async () => {
    proxy.blockWebSockets(true);
    try {
      const { run, numbers, job } = await runThroughOutage(async () => {});
      expect(run.status).toBe('PASSED');
      expect(numbers).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
      expect(job.streamer.stats.wsConnects).toBe(0);
      expect(job.streamer.stats.httpFrames).toBeGreaterThan(3);
    } finally {
      proxy.blockWebSockets(false);
    }
  });
});
