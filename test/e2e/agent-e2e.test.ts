// End to end: the real control plane (wrangler dev), the real agent process (built bundle) running
// jobs in real Docker, and a viewer WebSocket. One run is followed from the request to PASSED and
// one to FAILED, each with the complete log; the chunk→viewer latency is measured on the way.
// Then the `agnox run --wait` CI command streams a run and exits with its result.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AgentProcess, buildAgent, CI_BIN, spawnAgent } from '../../agent/test/support/agent-process';
import { call, type Harness, startHarness, waitFor } from '../../agent/test/support/control-plane';
import { startFlakyProxy } from '../../agent/test/support/flaky-proxy';
import { ensureNodeImage, NODE_SUITE_COMMAND } from '../../agent/test/support/images';

let h: Harness;
let agent: AgentProcess;
let nodeImage: string;

beforeAll(async () => {
  buildAgent();
  nodeImage = ensureNodeImage();
  h = await startHarness();
  agent = spawnAgent([
    '--url',
    h.cp.url,
    '--token',
    await h.registrationToken(),
    '--state-dir',
    mkdtempSync(path.join(tmpdir(), 'agnox-e2e-agent-')),
    '--name',
    'e2e-agent',
  ]);
  await waitFor('the agent to poll', () => agent.output().includes('polling'), 30_000);
});

afterAll(async () => {
  if (agent && agent.child.exitCode === null) {
    agent.signal('SIGTERM');
    await agent.exited;
  }
  await h?.stop();
});

type Received = { at: number; msg: any };

/** A viewer: ticket, then the live socket from seq 0; every message with its arrival time. */
async function watch(taskId: string) {
  const { json } = await call(h.cp, 'POST', '/api/auth/ws-ticket', { token: h.org.token, body: { taskId } });
  const ws = new WebSocket(`${h.cp.url.replace('http', 'ws')}/api/executions/${taskId}/live?since=0&ticket=${json.data.ticket}`);
  const received: Received[] = [];
  ws.on('message', (d) => received.push({ at: Date.now(), msg: JSON.parse(d.toString()) }));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let closed: string | null = null;
  ws.on('close', (code, reason) => {
    closed = `${code} ${reason}`;
  });
  const finalStatus = () =>
    waitFor(
      'a final status on the socket',
      () =>
        received.map((r) => r.msg).find((m) => m.type === 'status' && ['PASSED', 'FAILED', 'ERROR', 'CANCELLED', 'TIMED_OUT'].includes(m.status))?.status as
          | string
          | undefined,
      90_000,
    ).catch(async (err) => {
      throw new Error(`${err.message}; socket closed: ${closed}; run: ${JSON.stringify(await h.execution(taskId))}; agent: ${agent.output().slice(-2000)}`);
    });
  return { ws, received, finalStatus };
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

describe('agent end to end', () => {
  it('follows a run from request to PASSED with the complete log, live', async () => {
    // 60 timestamped lines over 3 s, then the real suite.
    const stamp = `node -e "let n=0;const t=setInterval(()=>{console.log('t='+Date.now());if(++n>=60)clearInterval(t)},50)"`;
    const projectId = await h.project({ image: nodeImage, command: `${stamp} && ${NODE_SUITE_COMMAND}` });
    const requestedAt = Date.now();
    const taskId = await h.requestRun({ projectId });
    const viewer = await watch(taskId);
    expect(await viewer.finalStatus()).toBe('PASSED');
    const doneAt = Date.now();
    viewer.ws.close();

    const msgs = viewer.received.map((r) => r.msg);
    expect(msgs[0]).toMatchObject({ type: 'hello', taskId });
    // The status the viewer saw on connecting (hello), then each change.
    const statuses = msgs.filter((m) => m.type === 'status' || m.type === 'hello').map((m) => m.status);
    expect(statuses).toContain('RUNNING');
    expect(statuses.at(-1)).toBe('PASSED');
    // Complete: the viewer got every stored chunk exactly once, in order, and nothing else.
    const seen = msgs.filter((m) => m.type === 'log').flatMap((m) => m.chunks);
    await waitFor('the final chunks', async () => (await h.logs(taskId)).length === seen.length || undefined, 5_000).catch(() => {});
    const stored = await h.logs(taskId);
    expect(seen.map((c: any) => c.seq)).toEqual(stored.map((c) => c.seq));
    expect(seen.map((c: any) => c.data).join('')).toBe(stored.map((c) => c.data).join(''));
    const text = stored.map((c) => c.data).join('');
    expect(text).toContain('picked up by agent "e2e-agent"');
    expect(text).toContain('✔ uppercases');
    expect(text).toContain('finished: PASSED (exit code 0)');
    expect(text.match(/^t=\d+$/gm)).toHaveLength(60);
    expect(msgs.some((m) => m.type === 'tests' && m.results.some((t: any) => t.title === 'adds'))).toBe(true);

    // Chunk→viewer latency: a line's own timestamp (printed in the container) to its arrival at the viewer.
    const latencies = viewer.received.flatMap((r) =>
      r.msg.type === 'log' ? r.msg.chunks.flatMap((c: any) => [...c.data.matchAll(/^t=(\d+)$/gm)].map((m) => r.at - Number(m[1]))) : [],
    );
    expect(latencies).toHaveLength(60);
    const median = percentile(latencies, 50);
    console.log(
      `chunk→viewer latency over ${latencies.length} lines: median ${median} ms, p95 ${percentile(latencies, 95)} ms, max ${Math.max(...latencies)} ms; request→PASSED ${doneAt - requestedAt} ms`,
    );
    expect(median).toBeLessThan(1000);
  });

  it('follows a failing run to FAILED with the failing test in the log and results', async () => {
    const projectId = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND, variables: { SUITE_FAIL: '1' } });
    const taskId = await h.requestRun({ projectId });
    const viewer = await watch(taskId);
    expect(await viewer.finalStatus()).toBe('FAILED');
    viewer.ws.close();
    const text = (await h.logs(taskId)).map((c) => c.data).join('');
    expect(text).toContain('✖ divides');
    expect(text).toContain('finished: FAILED (exit code 1)');
    expect((await h.tests(taskId)).find((t: any) => t.title === 'divides').status).toBe('failed');
  });

  it('`agnox run --wait` streams the log to the CI console and exits 0 for passed, 1 for failed', async () => {
    const apiKey = await h.apiKey();
    const ci = (projectId: string, extra: string[] = []) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CI_BIN, 'run', '--project', projectId, '--url', h.cp.url, ...extra], {
          env: { ...process.env, AGNOX_API_KEY: apiKey, GITHUB_ACTIONS: 'true', GITHUB_SHA: 'abc123' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const passing = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND });
    const ok = await ci(passing, ['--wait']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('✔ adds');
    expect(ok.stdout).toContain('finished: PASSED');
    // Each line once: the log is printed exactly once even though socket and polling both exist.
    expect(ok.stdout.match(/✔ adds/g)).toHaveLength(1);
    expect(ok.stderr).toMatch(/run run_\w+ finished: PASSED/);

    const failing = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND, variables: { SUITE_FAIL: '1' } });
    const bad = await ci(failing, ['--wait']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('✖ divides');

    const noWait = await ci(passing);
    expect(noWait.code).toBe(0);
    const taskId = noWait.stderr.match(/run (run_\w+) queued/)![1]!;
    expect((await h.execution(taskId)).ciContext).toMatchObject({ source: 'github', commitSha: 'abc123' });
    await h.waitForStatus(taskId, ['PASSED']);

    // Behind a proxy that refuses WebSockets, --wait falls back to polling and still prints the whole log once.
    const proxy = await startFlakyProxy(h.cp.url);
    proxy.blockWebSockets(true);
    try {
      const polled = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CI_BIN, 'run', '--project', passing, '--url', proxy.url, '--wait'], {
          env: { ...process.env, AGNOX_API_KEY: apiKey },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(polled.code, polled.stderr).toBe(0);
      expect(polled.stderr).toContain('live log unavailable');
      expect(polled.stdout.match(/✔ adds/g)).toHaveLength(1);
      expect(polled.stdout).toContain('finished: PASSED');
    } finally {
      await proxy.close();
    }

    const wrongKey = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [CI_BIN, 'run', '--project', passing, '--url', h.cp.url, '--api-key', 'nope-nope-nope']).on('exit', resolve),
    );
    expect(wrongKey).toBe(2);
  });
});
