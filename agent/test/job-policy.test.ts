// What a job payload may ask of the agent: container settings, local sockets, non-images, endless
// timeouts and payloads off the contract are refused with a reason; unknown harmless fields are not.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../worker/contracts/agent';
import { DockerImage } from '../../worker/contracts/projects';
import { isImageReference } from '../../worker/contracts/projects';
import { admitJob } from '../src/job-policy';

const job = (over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({
    taskId: 'run_abc123',
    projectId: 'p1',
    image: 'mcr.microsoft.com/playwright:v1.50.0-noble',
    command: 'npx playwright test',
    tests: [],
    testFolder: null,
    environment: 'staging',
    baseUrl: null,
    envVars: {},
    secretVars: {},
    labels: {},
    timeoutSeconds: 600,
    attempt: 1,
    leaseExpiresAt: 1,
    pullPolicy: 'if-not-present',
    reportDir: '/reports',
    ...over,
  }) satisfies Partial<Job>;

describe('job admission', () => {
  it('admits a well-formed job as it is', () => {
    const a = admitJob(job());
    expect(a?.refusal).toBeNull();
    expect(a?.job).toMatchObject({ taskId: 'run_abc123', image: 'mcr.microsoft.com/playwright:v1.50.0-noble' });
    expect(a?.ignoredFields).toEqual([]);
  });

  it.each([
    [{ privileged: true }, 'privileged'],
    [{ Binds: ['/var/run/docker.sock:/var/run/docker.sock'] }, 'Binds'],
    [{ HostConfig: { Privileged: true } }, 'HostConfig'],
    [{ cap_add: ['SYS_ADMIN'] }, 'cap_add'],
    [{ devices: ['/dev/sda'] }, 'devices'],
    [{ 'network-mode': 'host' }, 'network-mode'],
    [{ pidMode: 'host' }, 'pidMode'],
    [{ securityOpt: ['seccomp=unconfined'] }, 'securityOpt'],
    [{ memory: '64g', pidsLimit: -1 }, 'memory, pidsLimit'],
    [{ user: '0' }, 'user'],
  ])('refuses a payload carrying container settings %j', (extra, named) => {
    const a = admitJob(job(extra));
    expect(a?.refusal).toContain(`container settings this agent never takes from a job (${named})`);
    expect(a?.job.taskId).toBe('run_abc123');
  });

  it('refuses any spelling of a container setting (case, _ and - do not matter)', () => {
    const names = ['privileged', 'capadd', 'binds', 'networkmode', 'devices', 'securityopt', 'pidslimit'];
    const spelled = fc
      .tuple(fc.constantFrom(...names), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), fc.constantFrom('', '_', '-'))
      .map(([name, upper, sep]) => [...name].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch) + (i === 2 ? sep : '')).join(''));
    fc.assert(
      fc.property(spelled, (key) => {
        expect(admitJob(job({ [key]: true }))?.refusal).toMatch(/container settings/);
      }),
    );
  });

  it('ignores (and names) unknown fields that are not container settings: a newer control plane may add some', () => {
    const a = admitJob(job({ priority: 3, traceId: 'x' }));
    expect(a?.refusal).toBeNull();
    expect(a?.ignoredFields).toEqual(['priority', 'traceId']);
  });

  it.each([
    ['/var/lib/images/evil.tar'],
    ['./image.tar'],
    ['file:///tmp/x'],
    ['docker-archive:/tmp/x.tar'],
    ['a/../../containers/x'],
    ['Ubuntu:22.04'],
    ['ubuntu:'],
    [''],
    ['x'.repeat(256)],
  ])('refuses an image that is not a Docker image reference: %s', (image) => {
    expect(admitJob(job({ image }))?.refusal).toMatch(/is not a Docker image reference/);
  });

  it.each([
    ['busybox'],
    ['agnox-test/busybox:latest'],
    ['localhost:5000/team/app:1.2'],
    [`ghcr.io/org/img@sha256:${'a'.repeat(64)}`],
    ['[::1]:5000/x:y'],
    ['mcr.microsoft.com/playwright/python:v1.50.0-noble'],
  ])('accepts the image reference %s', (image) => {
    expect(isImageReference(image)).toBe(true);
  });

  it('the control plane refuses the image strings the agent refuses (one grammar for both)', () => {
    for (const image of ['a/../../containers/x', 'Upper/Case', 'busybox:', '/abs/path']) {
      expect(DockerImage.safeParse(image).success, image).toBe(false);
      expect(isImageReference(image), image).toBe(false);
    }
  });

  it.each([
    [{ envVars: { DOCKER_HOST: 'unix:///var/run/docker.sock' } }],
    [{ secretVars: { DOCKER_HOST: '/var/run/docker.sock' } }],
    [{ envVars: { DOCKER_HOST: 'npipe:////./pipe/docker_engine' } }],
  ])('refuses a job that points DOCKER_HOST at a local socket: %j', (over) => {
    expect(admitJob(job(over))?.refusal).toMatch(/DOCKER_HOST points at a local Docker socket.*never mounts \/var\/run\/docker.sock/);
  });

  it("lets DOCKER_HOST name a remote engine of the project's own", () => {
    expect(admitJob(job({ envVars: { DOCKER_HOST: 'tcp://dind.ci.example:2376' } }))?.refusal).toBeNull();
  });

  it.each([[0], [-5], [86_401], [3e9]])('refuses timeout %d s: every job runs with a timeout of at most 24 h', (timeoutSeconds) => {
    expect(admitJob(job({ timeoutSeconds }))?.refusal).toMatch(/timeout .* is outside 1 s … 86400 s/);
  });

  it.each([['reports'], ['/reports/../../etc'], ['']])('refuses report folder %j', (reportDir) => {
    expect(admitJob(job({ reportDir }))?.refusal).toMatch(/report folder .* must be an absolute path/);
  });

  it('refuses a payload off the contract with the fields at fault, as a stand-in job it can still report', () => {
    const a = admitJob(job({ image: 42, timeoutSeconds: 'soon' }));
    expect(a?.refusal).toMatch(/does not match this agent's protocol \(image: .*; timeoutSeconds: .*\); is the agent up to date\?/);
    expect(a?.job).toMatchObject({ taskId: 'run_abc123', secretVars: {} });
  });

  it('cannot report a payload without a usable taskId (it goes into URL paths)', () => {
    for (const raw of [null, 'job', [], job({ taskId: undefined }), job({ taskId: '../../agents/x' }), job({ taskId: 'a'.repeat(101) })])
      expect(admitJob(raw)).toBeNull();
  });
});
