// The Docker engine goes away under a running agent (found by `npm run faults -- docker-stop`, where
// the agent took every queued job and failed it while Docker was down). Here the engine sits behind
// a unix-socket proxy the test cuts: the agent stays up, takes no job, reports itself unhealthy with
// the reason, and once the engine answers again it takes the waiting run and passes it. And a job
// whose engine dies mid-run (its wait never answers, as with a SIGKILLed dockerd) ends ERROR, not never.
import Docker from 'dockerode';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Harness, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureBusyboxImage } from './support/images';

const ENGINE = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock';

/** A unix-socket proxy to the engine: `cut()` drops every connection and stops listening. */
async function engineProxy() {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-engine-')), 'docker.sock');
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const engine = net.connect(ENGINE);
    for (const s of [client, engine]) open.add(s);
    client.pipe(engine);
    engine.pipe(client);
    const end = () => {
      client.destroy();
      engine.destroy();
      open.delete(client);
      open.delete(engine);
    };
    client.on('close', end).on('error', end);
    engine.on('close', end).on('error', end);
  });
  const listen = () => new Promise<void>((r) => server.listen(file, r));
  await listen();
  return {
    file,
    cut: async () => {
      const closed = new Promise((r) => server.close(r));
      for (const s of open) s.destroy();
      open.clear();
      await closed;
    },
    /** A killed dockerd as the agent sees it: no new connection, and open ones (a container wait) never answer. */
    freeze: () => {
      server.close();
      for (const s of open) {
        s.unpipe();
        s.pause();
      }
    },
    restore: listen,
    close: async () => {
      for (const s of open) s.destroy();
      open.clear();
      if (server.listening) await new Promise((r) => server.close(r));
    },
  };
}

let h: Harness;
let agent: RunningAgent;
let proxy: Awaited<ReturnType<typeof engineProxy>>;
let busybox: string;

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  proxy = await engineProxy();
  h = await startHarness();
  agent = await startAgent(h, { dockerClient: new Docker({ socketPath: proxy.file }), dockerRecheckMs: 300, pollWaitMs: 1000 });
  await waitFor('the agent to poll', () => agent.lines.some((l) => l.includes('polling')));
});

afterAll(async () => {
  await proxy?.restore().catch(() => {});
  await agent?.stop();
  await proxy?.close();
  await h?.stop();
});

const listed = async () => ((await call(h.cp, 'GET', '/api/agents', { token: h.org.token })).json.data as any[]).find((a) => a.id === agent.agent.agentId);

describe('Docker engine lost under a running agent', () => {
  it('takes no job and reports unhealthy while the engine is gone; recovers and runs the waiting job', async () => {
    await proxy.cut();
    const unhealthy = await waitFor(
      'the agent to report unhealthy',
      async () => {
        const a = await listed();
        return a?.healthy === false ? a : undefined;
      },
      20_000,
      200,
    );
    expect(unhealthy.healthProblem).toMatch(/cannot reach the Docker engine/);
    expect(agent.lines.join('\n')).toMatch(/unhealthy: cannot reach the Docker engine/);

    const projectId = await h.project({ image: busybox, command: 'echo ran' });
    const taskId = await h.requestRun({ projectId });
    // Several polls pass meanwhile (recheck every 300 ms): none takes the run.
    const polls = agent.agent.polls;
    await waitFor('three more presence polls', () => agent.agent.polls >= polls + 3, 10_000);
    expect((await h.execution(taskId)).status).toBe('PENDING');
    expect(agent.agent.outcomes).toHaveLength(0);

    await proxy.restore();
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'], 30_000);
    expect(run.status, `${run.reason}: ${(await h.logs(taskId)).map((c) => c.data).join('')}`).toBe('PASSED');
    expect(agent.lines.join('\n')).toContain('healthy again: the Docker engine answers; taking jobs');
    expect(await listed()).toMatchObject({ healthy: true, healthProblem: null });
  }, 60_000);

  it('a job whose engine dies mid-run ends ERROR with the reason instead of waiting forever', async () => {
    const projectId = await h.project({ image: busybox, command: 'echo started; sleep 60' });
    const taskId = await h.requestRun({ projectId });
    await waitFor('the job to print', async () => (await h.logs(taskId)).some((c) => c.data.includes('started')), 30_000, 200);
    proxy.freeze();
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'], 40_000);
    expect(run.status).toBe('ERROR');
    expect((await h.logs(taskId)).map((c) => c.data).join('')).toMatch(/lost the Docker engine while the job ran/);
    await proxy.close();
    await proxy.restore();
    await waitFor('the agent to recover', async () => (await listed())?.healthy === true, 30_000, 200);
  }, 90_000);
});
