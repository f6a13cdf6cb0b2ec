// The Docker side against the real engine: container settings (labels, limits, no privileges, no
// host mounts), output, stop with a grace period, leftover cleanup, pull policy, report copy-out.
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerError, DockerRunner, LABEL_AGENT, LABEL_TASK } from '../src/docker-runner';
import { extractReportArchive, testResultsFrom } from '../src/reports';
import { ensureBusyboxImage, ensureNodeImage, NODE_SUITE_COMMAND } from './support/images';

let busybox: string;
let nodeImage: string;
const limits = { memoryBytes: 256 * 1024 * 1024, cpus: 1, pids: 128 };
const runner = (agentId = `test-${randomUUID().slice(0, 8)}`) => new DockerRunner({ agentId, platform: 'linux/amd64', limits });

beforeAll(() => {
  busybox = ensureBusyboxImage();
  nodeImage = ensureNodeImage();
});

async function runToEnd(r: DockerRunner, command: string, env: Record<string, string> = {}, image = busybox) {
  const container = await r.create({ taskId: `t-${randomUUID().slice(0, 8)}`, image, command, env });
  const out: { stream: string; text: string }[] = [];
  const { ended } = await r.attach(container, (stream, data) => out.push({ stream, text: data.toString() }));
  await r.start(container);
  const { exitCode } = await r.wait(container);
  await ended;
  return { container, exitCode, out };
}

describe('DockerRunner', () => {
  it('runs the command with the job environment, labels and limits, unprivileged, nothing mounted', async () => {
    const r = runner();
    const { container, exitCode, out } = await runToEnd(r, 'echo "base=$BASE_URL"; echo oops >&2; exit 3', { BASE_URL: 'http://app.test' });
    const info = await container.inspect();
    await r.remove(container);
    expect(exitCode).toBe(3);
    expect(
      out
        .filter((o) => o.stream === 'stdout')
        .map((o) => o.text)
        .join(''),
    ).toBe('base=http://app.test\n');
    expect(
      out
        .filter((o) => o.stream === 'stderr')
        .map((o) => o.text)
        .join(''),
    ).toBe('oops\n');
    expect(info.Config.Labels[LABEL_AGENT]).toMatch(/^test-/);
    expect(info.Config.Labels[LABEL_TASK]).toMatch(/^t-/);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.Memory).toBe(limits.memoryBytes);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.PidsLimit).toBe(128);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.Mounts).toEqual([]);
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('enforces the process limit', async () => {
    const r = runner();
    const { container, out } = await runToEnd(r, 'for i in $(seq 1 200); do sleep 5 & done 2>&1; echo started; kill $(jobs -p) 2>/dev/null; true');
    await r.remove(container);
    expect(out.map((o) => o.text).join('')).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
  });

  it('stops with SIGTERM first, and kills after the grace period when SIGTERM is ignored', async () => {
    const r = runner();
    const polite = await r.create({
      taskId: 'polite',
      image: busybox,
      command: 'trap "echo got TERM; exit 143" TERM; while true; do sleep 0.1; done',
      env: {},
    });
    const out: string[] = [];
    const { ended } = await r.attach(polite, (_s, d) => out.push(d.toString()));
    await r.start(polite);
    const t0 = Date.now();
    await r.stop(polite, 5);
    expect((await r.wait(polite)).exitCode).toBe(143);
    await ended;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(out.join('')).toContain('got TERM');
    await r.remove(polite);

    const stubborn = await r.create({ taskId: 'stubborn', image: busybox, command: 'trap "" TERM; while true; do sleep 0.1; done', env: {} });
    await r.start(stubborn);
    const t1 = Date.now();
    await r.stop(stubborn, 1);
    expect((await r.wait(stubborn)).exitCode).toBe(137);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(900);
    await r.remove(stubborn);
  });

  it("removes this agent's leftover containers at start-up, and only this agent's", async () => {
    const mine = runner('leftover-agent-a');
    const other = runner('leftover-agent-b');
    const a = await mine.create({ taskId: 'crashed-1', image: busybox, command: 'sleep 60', env: {} });
    await mine.start(a);
    const b = await other.create({ taskId: 'other-1', image: busybox, command: 'sleep 60', env: {} });
    expect(await mine.removeLeftovers()).toEqual(['crashed-1']);
    await expect(a.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await b.inspect()).Id).toBe(b.id);
    await other.remove(b);
  });

  it('applies the pull policy: "never" fails clearly for a missing image, present images are used as they are', async () => {
    const r = runner();
    const said: string[] = [];
    await expect(r.ensureImage('agnox-test/absent:nope', 'never', (l) => said.push(l))).rejects.toThrow(
      /not present on this agent and the pull policy is "never"/,
    );
    await r.ensureImage(busybox, 'if-not-present', (l) => said.push(l));
    expect(said).toEqual([]);
  });

  it('retries a failing pull and reports the Docker error', async () => {
    const r = new DockerRunner({ agentId: 'pull-test', platform: 'linux/amd64', limits, pullAttempts: 2 });
    const said: string[] = [];
    await expect(r.ensureImage('127.0.0.1:9/agnox/missing:1', 'if-not-present', (l) => said.push(l))).rejects.toThrow(DockerError);
    expect(said.filter((l) => l.startsWith('pulling'))).toHaveLength(2);
    expect(said.some((l) => l.startsWith('pull failed'))).toBe(true);
  });

  it('copies the report folder out after a real node --test run and parses its JUnit XML', async () => {
    const r = runner();
    const { container, exitCode, out } = await runToEnd(r, NODE_SUITE_COMMAND, { SUITE_FAIL: '1' }, nodeImage);
    const archive = await r.copyOut(container, '/reports');
    expect(archive).not.toBeNull();
    const { files } = await extractReportArchive(archive!);
    expect(await r.copyOut(container, '/no-such-dir')).toBeNull();
    await r.remove(container);
    expect(exitCode).toBe(1);
    expect(out.map((o) => o.text).join('')).toContain('✖ divides');
    expect(files.map((f) => f.path)).toEqual(['junit.xml']);
    const { tests, source } = testResultsFrom(files);
    expect(source).toBe('junit.xml');
    const byTitle = Object.fromEntries(tests.map((t) => [t.title, t]));
    expect(Object.keys(byTitle).sort()).toEqual(['adds', 'divides', 'multiplies', 'skips on request', 'uppercases']);
    expect(byTitle.adds!.status).toBe('passed');
    expect(byTitle.divides!.status).toBe('failed');
    expect(byTitle.divides!.error?.message).toMatch(/3 !== 4/);
    expect(byTitle['skips on request']!.status).toBe('skipped');
    expect(byTitle.adds!.suite).toBe('math');
  });

  it('refuses, at start-up, limits the engine cannot give: more CPUs or memory than the host has', async () => {
    const info = await new Docker().info();
    const withLimits = (l: Partial<typeof limits>) => new DockerRunner({ agentId: 'limits', platform: 'linux/amd64', limits: { ...limits, ...l } });
    await expect(withLimits({ cpus: info.NCPU + 1 }).checkLimits()).rejects.toThrow(
      `--cpus ${info.NCPU + 1} is more than the ${info.NCPU} CPUs of this Docker host`,
    );
    await expect(withLimits({ memoryBytes: info.MemTotal + 1024 ** 3 }).checkLimits()).rejects.toThrow(
      /--memory \d+m is more than the \d+m of memory of this Docker host/,
    );
    await expect(withLimits({}).checkLimits()).resolves.toBeUndefined();
  });

  it('fails to create a container for an image that does not exist', async () => {
    await expect(runner().create({ taskId: 'x', image: 'agnox-test/absent:nope', command: 'true', env: {} })).rejects.toThrow(/creating the container failed/);
  });
});
