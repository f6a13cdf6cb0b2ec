// The agent against the real control plane (wrangler dev) and the real Docker engine: passing and
// failing runs with per-test results and uploaded reports, live log order, secret masking across
// chunk borders, cancel, timeout, a container that cannot start, concurrency 2, ARM64 refusal.
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARM64_CHANNEL_MESSAGE } from '../src/browser-channel';
import { LABEL_AGENT } from '../src/docker-runner';
import { type Harness, logTextOf, startHarness, waitFor } from './support/control-plane';
import { type RunningAgent, startAgent } from './support/agent';
import { ensureBusyboxImage, ensureNodeImage, ensurePlaywrightReportsImage, NODE_SUITE_COMMAND } from './support/images';

let h: Harness;
let agent: RunningAgent;
let busybox: string;
let nodeImage: string;
const docker = new Docker();

beforeAll(async () => {
  busybox = ensureBusyboxImage();
  nodeImage = ensureNodeImage();
  h = await startHarness();
  agent = await startAgent(h, { concurrency: 2 });
  await waitFor('the agent to register', () => agent.agent.agentId);
});

afterAll(async () => {
  await agent?.stop();
  await h?.stop();
});

const containersOfAgent = async () => docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${agent.agent.agentId}`] } });

describe('agent runs', () => {
  it('runs a passing node:test suite: PASSED, per-test results from JUnit, report uploaded, container removed', async () => {
    const projectId = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND });
    const taskId = await h.requestRun({ projectId });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status, logTextOf(await h.logs(taskId))).toBe('PASSED');
    expect(run.exitCode).toBe(0);
    const log = logTextOf(await h.logs(taskId));
    expect(log).toContain('✔ adds');
    expect(log).toContain('ℹ pass 4');
    const tests = await h.tests(taskId);
    expect(tests.map((t: any) => `${t.title}:${t.status}`).sort()).toEqual([
      'adds:passed',
      'divides:passed',
      'multiplies:passed',
      'skips on request:skipped',
      'uppercases:passed',
    ]);
    const artifacts = await h.artifacts(taskId);
    expect(artifacts.map((a: any) => a.path)).toEqual(['junit.xml']);
    const xml = await fetch(`${h.cp.url}/api/executions/${taskId}/artifacts`, { headers: { authorization: `Bearer ${h.org.token}` } });
    expect(xml.status).toBe(200);
    expect(await containersOfAgent()).toEqual([]);
  });

  it('runs a failing suite: FAILED with exit code 1 and the failing test with its error', async () => {
    const projectId = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND, variables: { SUITE_FAIL: '1' } });
    const taskId = await h.requestRun({ projectId });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('FAILED');
    expect(run.exitCode).toBe(1);
    const tests = await h.tests(taskId);
    const divides = tests.find((t: any) => t.title === 'divides');
    expect(divides.status).toBe('failed');
    expect(divides.error.message).toMatch(/3 !== 4/);
    expect(run.failed).toBe(1);
    expect(run.passed).toBe(3);
  });

  it('learns the quarantine list at the start of a run; a run failing only on a quarantined test passes', async () => {
    const projectId = await h.project({ image: nodeImage, command: NODE_SUITE_COMMAND, variables: { SUITE_FAIL: '1' } });
    const first = await h.requestRun({ projectId });
    expect((await h.waitForStatus(first, ['PASSED', 'FAILED', 'ERROR'])).status).toBe('FAILED');
    const divides = (await h.tests(first)).find((t: any) => t.title === 'divides');
    const q = await fetch(`${h.cp.url}/api/quarantines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.org.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        projectId,
        title: 'divides',
        ...(divides.file ? { file: divides.file } : {}),
        owner: 'ada',
        reason: 'flaky on CI',
        expiresAt: Date.now() + 86_400_000,
      }),
    });
    expect(q.status, await q.clone().text()).toBe(201);
    const { data: quarantine } = (await q.json()) as { data: { testKey: string } };

    const second = await h.requestRun({ projectId });
    const run = await h.waitForStatus(second, ['PASSED', 'FAILED', 'ERROR']);
    const log = logTextOf(await h.logs(second));
    expect(log).toContain(`1 quarantined test(s) run as usual, but their failures do not fail the run: ${quarantine.testKey}`);
    expect(run.status, log).toBe('PASSED');
    expect(run.exitCode).toBe(1); // the suite still failed and is still reported
    expect((await h.tests(second)).find((t: any) => t.title === 'divides').status).toBe('failed');
  });

  it("collects a real Playwright run's reports: results from its JSON (retries, flaky), JSON/JUnit/HTML uploaded", async () => {
    const image = ensurePlaywrightReportsImage();
    const projectId = await h.project({ image, command: 'mkdir -p /reports && cp -r /fixture-reports/. /reports/ && echo "1 failed, 1 flaky" && exit 1' });
    const taskId = await h.requestRun({ projectId });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('FAILED');
    const tests = await h.tests(taskId);
    const attempts = (title: string) =>
      tests
        .filter((t: any) => t.title === title)
        .sort((a: any, b: any) => a.retry - b.retry)
        .map((t: any) => t.status);
    expect(attempts('shows the total in a real browser')).toEqual(['passed']);
    expect(attempts('is flaky: fails on the first attempt only')).toEqual(['failed', 'flaky']);
    expect(attempts('rejects an empty cart')).toEqual(['failed', 'failed']);
    expect(attempts('pays with a gift card')).toEqual(['skipped']);
    expect(tests.find((t: any) => t.title === 'rejects an empty cart').error.message).toContain('cart should not be empty');
    expect(tests.every((t: any) => t.file === 'checkout.spec.mjs' && t.suite === 'checkout')).toBe(true);
    const artifacts = await h.artifacts(taskId);
    const byPath = Object.fromEntries(artifacts.map((a: any) => [a.path, a]));
    expect(Object.keys(byPath)).toEqual(expect.arrayContaining(['results.json', 'junit.xml', 'playwright-report/index.html']));
    expect(byPath['playwright-report/index.html'].size).toBeGreaterThan(10_000);
    // Each file is served back with the content type the agent uploaded it with.
    const served = async (p: string) => {
      const res = await fetch(`${h.cp.url}/reports/${taskId}/${p}`, { headers: { authorization: `Bearer ${h.org.token}` } });
      expect(res.status).toBe(200);
      return { type: res.headers.get('content-type'), body: await res.text() };
    };
    const html = await served('playwright-report/index.html');
    expect(html.type).toBe('text/html');
    expect(html.body).toContain('<html');
    expect((await served('results.json')).type).toBe('application/json');
    expect((await served('junit.xml')).type).toBe('application/xml');
    expect(logTextOf(await h.logs(taskId))).toMatch(/6 test results from results\.json/);
  });

  it('keeps the live log in order: exactly per stream, and across streams between pauses', async () => {
    // 400 numbered lines alternating stdout/stderr in batches of 50 with pauses, over ~1 s, so many
    // flushes happen mid-run. Docker reads a container's stdout and stderr pipes independently, so
    // lines written microseconds apart on different streams can swap (with `docker run` too); the
    // order within a stream, and across streams between batches, must hold exactly.
    const command =
      'i=1; while [ $i -le 400 ]; do if [ $((i % 2)) -eq 0 ]; then echo "line $i" >&2; else echo "line $i"; fi; [ $((i % 50)) -eq 0 ] && sleep 0.15; i=$((i+1)); done';
    const projectId = await h.project({ image: busybox, command });
    const taskId = await h.requestRun({ projectId });
    expect((await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'])).status).toBe('PASSED');
    const chunks = await h.logs(taskId);
    const agentChunks = chunks.filter((c) => c.stream !== 'system');
    const numbers = (stream?: string) =>
      agentChunks
        .filter((c) => !stream || c.stream === stream)
        .map((c) => c.data)
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.replace('line ', '')));
    expect(numbers('stdout')).toEqual(Array.from({ length: 200 }, (_, i) => 2 * i + 1));
    expect(numbers('stderr')).toEqual(Array.from({ length: 200 }, (_, i) => 2 * i + 2));
    const batches = numbers().map((n) => Math.floor((n - 1) / 50));
    expect(batches).toEqual([...batches].sort((a, b) => a - b));
    expect(agentChunks.length).toBeGreaterThan(8);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i + 1));
  });

  it('cuts a burst of output into chunks of at most 64 KB without losing a byte', async () => {
    const projectId = await h.project({ image: busybox, command: "head -c 300000 /dev/zero | tr '\\0' x; echo; echo tail-marker" });
    const taskId = await h.requestRun({ projectId });
    expect((await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'])).status).toBe('PASSED');
    const out = (await h.logs(taskId)).filter((c) => c.stream === 'stdout');
    expect(out.map((c) => c.data).join('')).toBe(`${'x'.repeat(300_000)}\ntail-marker\n`);
    expect(out.length).toBeGreaterThanOrEqual(5);
    for (const c of out) expect(Buffer.byteLength(c.data)).toBeLessThanOrEqual(64 * 1024);
  });

  it('masks secrets and their base64 form, also when a secret is split across two chunks', async () => {
    const secret = 'tr0ub4dor-and-3-horses';
    const b64 = Buffer.from(secret).toString('base64');
    // The halves are written 0.6 s apart: longer than the 250 ms flush, so they would leave in two chunks.
    const command = `printf 'key=tr0ub4dor-'; sleep 0.6; printf 'and-3-horses done\\n'; echo "env=$API_SECRET"; echo "b64=$(printf %s "$API_SECRET" | base64)"; echo "$API_SECRET" >&2`;
    const projectId = await h.project({ image: busybox, command, secrets: { API_SECRET: secret } });
    const taskId = await h.requestRun({ projectId });
    expect((await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR'])).status).toBe('PASSED');
    const log = logTextOf(await h.logs(taskId));
    expect(log).not.toContain(secret);
    expect(log).not.toContain(b64);
    expect(log).not.toContain('tr0ub4dor');
    expect(log).toContain('key=*** done');
    expect(log).toContain('env=***');
    expect(log).toContain('b64=***');
    // The stored variable never reaches the viewer's API either (only the leased agent gets it).
    expect(JSON.stringify(await h.execution(taskId))).not.toContain(secret);
  });

  it('cancels a running job: SIGTERM to the container, CANCELLED with reason cancel', async () => {
    const projectId = await h.project({ image: busybox, command: 'trap "echo got SIGTERM; exit 143" TERM; echo started; while true; do sleep 0.2; done' });
    const taskId = await h.requestRun({ projectId });
    await waitFor('the job to print', async () => logTextOf(await h.logs(taskId)).includes('started'));
    await h.cancel(taskId);
    const run = await h.waitForStatus(taskId, ['CANCELLED', 'PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('CANCELLED');
    expect(run.reason).toBe('cancel');
    const log = logTextOf(await h.logs(taskId));
    expect(log).toContain('got SIGTERM');
    expect(log).toContain('cancelled by a user');
    await waitFor('the container to be removed', async () => (await containersOfAgent()).length === 0);
  });

  it('times out a job past its timeout: stopped, TIMED_OUT with reason timeout', async () => {
    const projectId = await h.project({ image: busybox, command: 'trap "" TERM; echo working; sleep 600', timeoutSeconds: 10 });
    const started = Date.now();
    const taskId = await h.requestRun({ projectId });
    const run = await h.waitForStatus(taskId, ['TIMED_OUT', 'PASSED', 'FAILED', 'ERROR', 'CANCELLED'], 40_000);
    expect(run.status).toBe('TIMED_OUT');
    expect(run.reason).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(logTextOf(await h.logs(taskId))).toContain('timed out after 10 s');
  });

  it('reports ERROR with the Docker error in the log when no container can start (image missing, registry unreachable)', async () => {
    const projectId = await h.project({ image: 'agnox-test/never-built:1', command: 'true' });
    const taskId = await h.requestRun({ projectId, pullPolicy: 'never' });
    const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
    expect(run.status).toBe('ERROR');
    expect(run.reason).toBe('docker_error');
    expect(logTextOf(await h.logs(taskId))).toContain('image agnox-test/never-built:1 is not present on this agent and the pull policy is "never"');

    // A registry that cannot be reached: the pull is retried, then the engine's own error reaches the log.
    const unreachable = await h.project({ image: '127.0.0.1:9/agnox/missing:1', command: 'true' });
    const taskId2 = await h.requestRun({ projectId: unreachable });
    const run2 = await h.waitForStatus(taskId2, ['PASSED', 'FAILED', 'ERROR']);
    expect(run2.status).toBe('ERROR');
    expect(run2.exitCode).toBeNull();
    const log2 = logTextOf(await h.logs(taskId2));
    expect(log2).toContain('pulling 127.0.0.1:9/agnox/missing:1 for linux/amd64 (attempt 3/3)');
    expect(log2).toMatch(/pulling 127\.0\.0\.1:9\/agnox\/missing:1 failed: .*127\.0\.0\.1:9/);
    expect(await containersOfAgent()).toEqual([]);
  });

  it('runs two jobs at once with concurrency 2', async () => {
    const projectId = await h.project({ image: busybox, command: 'echo begin; sleep 3; echo end' });
    const a = await h.requestRun({ projectId });
    const b = await h.requestRun({ projectId });
    await waitFor(
      'both jobs to run at the same time',
      async () => {
        const [ra, rb] = await Promise.all([h.execution(a), h.execution(b)]);
        return ra.status === 'RUNNING' && rb.status === 'RUNNING';
      },
      20_000,
    );
    const [ra, rb] = await Promise.all([h.waitForStatus(a, ['PASSED', 'FAILED', 'ERROR']), h.waitForStatus(b, ['PASSED', 'FAILED', 'ERROR'])]);
    expect([ra.status, rb.status]).toEqual(['PASSED', 'PASSED']);
    // Overlap: each started before the other finished.
    expect(ra.startedAt).toBeLessThan(rb.finishedAt);
    expect(rb.startedAt).toBeLessThan(ra.finishedAt);
  });
});

describe('an ARM64 agent', () => {
  it('refuses a job that asks for --browser-channel chrome, with the known-limitation message', async () => {
    const arm = await startAgent(h, { host: { arch: 'arm64', os: 'linux', version: '0.1.0', platform: 'linux/arm64' }, labels: { pool: 'arm-test' } });
    try {
      const projectId = await h.project({ image: busybox, command: 'npx playwright test --browser-channel chrome' });
      // Labelled for the ARM pool explicitly, so the control plane's amd64 routing does not apply.
      const taskId = await h.requestRun({ projectId, labels: { pool: 'arm-test', arch: 'arm64' } });
      const run = await h.waitForStatus(taskId, ['PASSED', 'FAILED', 'ERROR']);
      expect(run.status).toBe('ERROR');
      expect(run.reason).toBe('refused');
      expect(logTextOf(await h.logs(taskId))).toContain(ARM64_CHANNEL_MESSAGE);
    } finally {
      await arm.stop();
    }
  });
});
