// @agnox/playwright-reporter end to end: real Playwright (Debian's Chromium) runs the reporter's
// fixture suite and reports to a real control plane (`wrangler dev`). The stored run must equal
// Playwright's own JSON report test by test, the log must show console output while the run is
// still going, a run made while the server was down must end up stored the same once its spool is
// uploaded (and a second upload changes nothing), and shards of one CI build merge into one run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPORTER_DIR } from '../../reporter/test/support/build';
import { deadUrl } from '../../reporter/test/support/fake-ingest';
import { readJsonReport, runSuite, type SuiteRun } from '../../reporter/test/support/suite';
import { startControlPlane, type ControlPlane } from '../support/wrangler';

let cp: ControlPlane;
let token: string;
let apiKey: string;

async function call(method: string, route: string, body?: unknown) {
  const res = await fetch(`${cp.url}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function newProject() {
  const res = await call('POST', '/api/projects', { name: `pw-${crypto.randomUUID().slice(0, 8)}`, image: 'external', command: 'npx playwright test' });
  expect(res.status).toBe(201);
  return res.json.data.id as string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const executionsOf = async (projectId: string) => (await call('GET', `/api/executions?projectId=${projectId}&source=external-ci`)).json.data.items as any[];

/** The stored run in comparable form: one entry per test, its attempts in order. */
async function storedRun(taskId: string) {
  const detail = (await call('GET', `/api/executions/${taskId}`)).json.data;
  const tests = (await call('GET', `/api/executions/${taskId}/tests`)).json.data as any[];
  const byTest = new Map<string, any[]>();
  for (const t of [...tests].sort((a, b) => a.retry - b.retry)) byTest.set(t.testId, [...(byTest.get(t.testId) ?? []), t]);
  return { detail, tests, byTest };
}

function expectEqualToPlaywright(stored: Awaited<ReturnType<typeof storedRun>>, run: SuiteRun) {
  const report = readJsonReport(run.jsonFile);
  expect(stored.byTest.size).toBe(report.tests.length);
  for (const test of report.tests) {
    const attempts = stored.byTest.get(test.id) ?? [];
    expect(
      attempts.map((a) => ({ title: a.title, file: a.file, status: a.status, retry: a.retry, durationMs: a.durationMs, error: a.error?.message })),
      test.title,
    ).toEqual(test.attempts.map((a) => ({ title: test.title, file: test.file, status: a.status, retry: a.retry, durationMs: a.duration, error: a.error })));
  }
  expect(stored.detail).toMatchObject({
    source: 'external-ci',
    image: 'external-ci',
    status: 'FAILED',
    totalTests: report.tests.length,
    passed: report.stats.expected,
    failed: report.stats.unexpected,
    flaky: report.stats.flaky,
    skipped: report.stats.skipped,
  });
}

const env = (projectId: string, extra: Record<string, string> = {}) => ({
  AGNOX_API_KEY: apiKey,
  AGNOX_PROJECT_ID: projectId,
  AGNOX_BASE_URL: cp.url,
  AGNOX_FLUSH_INTERVAL_MS: '200',
  ...extra,
});

function uploadCli(file: string) {
  const child = spawn(process.execPath, [path.join(REPORTER_DIR, 'bin/agnox-report.cjs'), 'upload', '--url', cp.url, file], {
    env: { ...process.env, AGNOX_API_KEY: apiKey },
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise<{ code: number | null; out: string }>((r) => child.on('close', (code) => r({ code, out })));
}

beforeAll(async () => {
  await ensureBuilt();
  cp = await startControlPlane();
  const signup = await call('POST', '/api/auth/signup', {
    email: `pw-${Date.now()}@example.com`,
    password: 'e2e-password-1',
    name: 'PW',
    organizationName: 'Playwright users',
  });
  token = signup.json.data.token;
  apiKey = (await call('POST', '/api/api-keys', { name: 'ci' })).json.data.key;
});
afterAll(async () => {
  await cp?.stop();
});

describe('@agnox/playwright-reporter against wrangler dev', () => {
  it('stores the run as Playwright reports it, and shows console output live while it runs', async () => {
    const projectId = await newProject();
    const gate = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-gate-')), 'open');
    const marker = `marker-${crypto.randomUUID()}`;
    const running = runSuite(env(projectId, { AGNOX_LIVE_GATE: gate, AGNOX_LIVE_MARKER: marker }));
    // The fixture's live test prints the marker, then waits for the gate: seeing the marker in the
    // stored log before opening the gate proves it arrived while the run was going.
    const taskId = await until('the execution', async () => (await executionsOf(projectId))[0]?.taskId as string | undefined);
    await until('the marker in the live log', async () => {
      const logs = (await call('GET', `/api/executions/${taskId}/logs`)).json.data;
      return logs.chunks.some((c: any) => c.data.includes(`live marker ${marker}`)) ? true : undefined;
    });
    expect((await call('GET', `/api/executions/${taskId}`)).json.data.status).toBe('RUNNING');
    writeFileSync(gate, 'open');
    const run = await running;
    expect(run.code).toBe(1);

    const stored = await storedRun(taskId);
    expectEqualToPlaywright(stored, run);
    const logs = (await call('GET', `/api/executions/${taskId}/logs`)).json.data.chunks as any[];
    expect(logs.some((c) => c.stream === 'stdout' && c.data.includes('adding 2 and 3'))).toBe(true);
    expect(logs.some((c) => c.stream === 'stderr' && c.data.includes('about to fail on purpose'))).toBe(true);
    const failed = stored.tests.find((t) => t.title === 'compares strings and fails');
    expect(failed.error).toMatchObject({ location: 'basics.spec.ts:17:26', stack: expect.stringContaining('basics.spec.ts:17:26') });

    // The Chromium test's screenshot went to R2 and is linked from its result.
    const page = stored.tests.find((t) => t.title === 'renders a page in Chromium');
    const shot = page.attachments?.find((a: any) => a.contentType === 'image/png');
    expect(shot?.key).toMatch(/^attachments\//);
    const png = await fetch(`${cp.url}/reports/${taskId}/${shot.key}`, { headers: { authorization: `Bearer ${token}` } });
    expect(png.status).toBe(200);
    expect([...new Uint8Array(await png.arrayBuffer()).slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  });

  it('a run made while the server was down is stored the same from its spool; uploading twice changes nothing', async () => {
    const projectId = await newProject();
    const run = await runSuite(env(projectId, { AGNOX_BASE_URL: await deadUrl() }));
    expect(run.code).toBe(1);
    expect(await executionsOf(projectId)).toEqual([]);
    const spool = readdirSync(run.spoolDir)
      .filter((f) => f.startsWith('agnox-spool-'))
      .map((f) => path.join(run.spoolDir, f));
    expect(spool).toHaveLength(1);

    const first = await uploadCli(spool[0]!);
    expect(first.code, first.out).toBe(0);
    const [execution] = await executionsOf(projectId);
    const stored = await storedRun(execution.taskId);
    expectEqualToPlaywright(stored, run);
    const logs = (await call('GET', `/api/executions/${execution.taskId}/logs`)).json.data;
    expect(logs.chunks.some((c: any) => c.data.includes('adding 2 and 3'))).toBe(true);

    const second = await uploadCli(spool[0]!);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toMatch(/(\d+) batches \(\1 already there\)/);
    expect(await executionsOf(projectId)).toHaveLength(1);
    const again = await storedRun(execution.taskId);
    expect(again.detail).toEqual(stored.detail);
    expect(again.tests).toEqual(stored.tests);
    expect((await call('GET', `/api/executions/${execution.taskId}/logs`)).json.data).toEqual(logs);
  });

  it('merges the shards of one CI build into one execution with its CI context', async () => {
    const projectId = await newProject();
    const github = {
      GITHUB_ACTIONS: 'true',
      GITHUB_RUN_ID: String(Date.now()),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_REF: 'refs/pull/42/merge',
      GITHUB_HEAD_REF: 'feature/auth',
      GITHUB_SHA: 'a1b2c3d4',
      GITHUB_SERVER_URL: 'https://github.com',
    };
    const one = await runSuite(env(projectId, github), ['--shard', '1/2']);
    expect((await executionsOf(projectId))[0].status).toBe('RUNNING'); // waits for the other shard
    const two = await runSuite(env(projectId, github), ['--shard', '2/2']);
    expect(existsSync(one.jsonFile) && existsSync(two.jsonFile)).toBe(true);
    const executions = await executionsOf(projectId);
    expect(executions).toHaveLength(1);
    const stored = await storedRun(executions[0].taskId);
    const reports = [readJsonReport(one.jsonFile), readJsonReport(two.jsonFile)];
    const ran = (r: ReturnType<typeof readJsonReport>) => r.tests.filter((t) => t.attempts.length > 0);
    expect(stored.byTest.size).toBe(ran(reports[0]!).length + ran(reports[1]!).length);
    expect(stored.detail).toMatchObject({
      status: 'FAILED',
      totalTests: stored.byTest.size,
      ciContext: {
        source: 'github',
        repository: 'acme/shop',
        branch: 'feature/auth',
        prNumber: 42,
        commitSha: 'a1b2c3d4',
        runUrl: `https://github.com/acme/shop/actions/runs/${github.GITHUB_RUN_ID}/attempts/1`,
      },
    });
  });
});
