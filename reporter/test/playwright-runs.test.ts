// The reporter inside real Playwright runs (Debian's Chromium) of the fixture suite: what it sends
// when the server is healthy, and that a down, slow (10 s) or failing (500) server changes neither
// the exit code nor holds the run's end past the reporter's short budget — with everything saved to
// the spool and sendable afterwards with `agnox-report upload`; and that a saved run outlives the
// next run (the spool is not in Playwright's output folder) until `agnox-report upload` sends it.
// Playwright awaits only a reporter's onEnd, so the budget onEnd reports is the time the reporter can
// add to a run; the added wall time as a whole is measured by `npm run bench:reporter`, not here (a
// shared machine's noise between two Playwright runs is larger than what a test could assert).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSpool } from '../src/spool';
import { ensureBuilt, REPORTER_DIR } from './support/build';
import { deadUrl, startFakeIngest, type FakeIngest } from './support/fake-ingest';
import { readJsonReport, runSuite, SUITE_CONFIG, type SuiteRun } from './support/suite';

const reporterEnv = (baseUrl: string) => ({ AGNOX_API_KEY: 'test-key', AGNOX_PROJECT_ID: 'proj-1', AGNOX_BASE_URL: baseUrl, AGNOX_FLUSH_INTERVAL_MS: '200' });

const spoolFiles = (run: SuiteRun) =>
  existsSync(run.spoolDir)
    ? readdirSync(run.spoolDir)
        .filter((f) => /^agnox-spool-.*\.jsonl$/.test(f))
        .map((f) => path.join(run.spoolDir, f))
    : [];

/** Runs the shipped `agnox-report` bin. */
function runCli(args: string[], env: Record<string, string>, cwd?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(REPORTER_DIR, 'bin/agnox-report.cjs'), ...args], { env: { ...process.env, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** Every event number from 1 to the last one, exactly once. */
function expectGapless(seqs: number[]) {
  const sorted = [...seqs].sort((a, b) => a - b);
  expect(sorted.length).toBeGreaterThan(10);
  expect(sorted).toEqual(sorted.map((_, i) => i + 1));
}

let baseline: SuiteRun;
const servers: FakeIngest[] = [];

beforeAll(async () => {
  await ensureBuilt();
  baseline = await runSuite({ AGNOX_REPORTER: 'off' });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('with a healthy server', () => {
  it("sends every attempt, the console output and a summary equal to Playwright's own report", async () => {
    const server = await startFakeIngest('ok');
    servers.push(server);
    const run = await runSuite(reporterEnv(server.url));
    expect(run.code).toBe(baseline.code);
    expect(run.code).toBe(1); // the suite has failing tests on purpose
    expect(server.invalid).toEqual([]);
    expect(server.setups).toHaveLength(1);
    expect(server.setups[0]).toMatchObject({
      projectId: 'proj-1',
      framework: 'playwright',
      totalTests: 7,
      runName: 'fixture suite',
      ciContext: { source: 'local' },
    });
    expectGapless(server.events().map((e) => e.seq!));

    const report = readJsonReport(run.jsonFile);
    const ends = server.events().filter((e) => e.type === 'test-end');
    for (const test of report.tests) {
      const sent = ends.filter((e) => e.testId === test.id).sort((a, b) => a.retry! - b.retry!);
      expect(
        sent.map((e) => ({ status: e.status, retry: e.retry, duration: e.duration })),
        test.title,
      ).toEqual(test.attempts.map((a) => ({ status: a.status, retry: a.retry, duration: a.duration })));
      for (const [i, e] of sent.entries()) expect(e.error, test.title).toBe(test.attempts[i]!.error);
    }
    const failed = ends.find((e) => e.title === 'compares strings and fails')!;
    expect(failed.errorLocation).toBe('basics.spec.ts:17:26');
    expect(failed.errorStack).toContain('basics.spec.ts:17:26');

    const logs = server.events().filter((e) => e.type === 'log');
    expect(logs.some((e) => e.chunk.includes('adding 2 and 3') && e.stream === 'stdout')).toBe(true);
    expect(logs.some((e) => e.chunk.includes('about to fail on purpose') && e.stream === 'stderr')).toBe(true);

    expect(server.teardowns).toHaveLength(1);
    const { summary, status } = server.teardowns[0]!;
    expect(status).toBe('FAILED');
    expect(summary).toMatchObject({
      total: 7,
      passed: report.stats.expected,
      failed: report.stats.unexpected,
      flaky: report.stats.flaky,
      skipped: report.stats.skipped,
      timedOut: 1,
    });
    expect([summary.passed, summary.failed, summary.flaky, summary.skipped]).toEqual([3, 2, 1, 1]);
    expect(spoolFiles(run)).toEqual([]);
  });
});

describe('quarantine', () => {
  it("reports the run PASSED when every failing test is quarantined, leaving Playwright's exit code alone", async () => {
    const server = await startFakeIngest('ok');
    servers.push(server);
    server.quarantined = ['basics.spec.ts › compares strings and fails', 'basics.spec.ts › never finishes and times out'];
    const run = await runSuite(reporterEnv(server.url));
    expect(run.code).toBe(baseline.code);
    expect(server.teardowns).toHaveLength(1);
    expect(server.teardowns[0]).toMatchObject({ status: 'PASSED', summary: { failed: 2 } });
    expect(run.output).toContain('2 failing test(s) are quarantined, so the Agnox run is reported PASSED');
  });
});

describe('when the server is unreachable or unhealthy', () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ['down', () => deadUrl()],
    [
      'slow (answers after 10 s)',
      async () => {
        const s = await startFakeIngest('slow');
        servers.push(s);
        return s.url;
      },
    ],
    [
      'failing (500)',
      async () => {
        const s = await startFakeIngest('error');
        servers.push(s);
        return s.url;
      },
    ],
  ];

  for (const [name, url] of cases) {
    it(`${name}: same exit code, the run's end held no longer than the short budget, the whole run in the spool, uploadable later`, async () => {
      const target = await url();
      const run = await runSuite(reporterEnv(target));
      expect(run.code).toBe(baseline.code);
      expect(run.output).toContain('npx agnox-report upload');
      // The reporter's own share, independent of the machine's load: with a server already failing
      // or hanging, onEnd (the one hook Playwright waits for) keeps to its short budget (500 ms) before spooling.
      const gaveUp = Number(run.output.match(/gave up after (\d+) ms/)?.[1]);
      expect(gaveUp).toBeLessThan(500 + 300);

      const files = spoolFiles(run);
      expect(files).toHaveLength(1);
      const spool = readSpool(files[0]!);
      expect(spool.header.setup).toMatchObject({ projectId: 'proj-1', totalTests: 7 });
      expect(spool.teardown).toMatchObject({ status: 'FAILED', summary: { total: 7, passed: 3, failed: 2, flaky: 1, skipped: 1 } });
      const events = spool.batches.flatMap((b) => b.events);
      expectGapless(events.map((e) => e.seq!));
      expect(events.filter((e) => e.type === 'test-end')).toHaveLength(10); // 7 tests, 3 of them retried

      // The server comes back: the shipped CLI sends the spool; a second upload changes nothing.
      const back = await startFakeIngest('ok');
      servers.push(back);
      const cli = (file: string) => runCli(['upload', '--url', back.url, file], { AGNOX_API_KEY: 'test-key' });
      const first = await cli(files[0]!);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stdout).toContain('status FAILED');
      expect(back.invalid).toEqual([]);
      expect(back.setups[0]!.runId).toBe(spool.header.setup.runId);
      expectGapless(back.events().map((e) => e.seq!));
      const second = await cli(files[0]!);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stdout).toContain(`${spool.batches.length} batches (${spool.batches.length} already there)`);
      expect(back.events()).toHaveLength(events.length);
    });
  }
});

describe('the spool folder', () => {
  // The reporter's default: .agnox/spool beside the config. Only this test writes there.
  const defaultDir = path.join(path.dirname(SUITE_CONFIG), '.agnox');
  afterAll(() => rmSync(defaultDir, { recursive: true, force: true }));

  it('keeps a saved run through the next Playwright run, and `agnox-report upload` with no file sends every saved run, oldest first', async () => {
    rmSync(defaultDir, { recursive: true, force: true });
    const down = await deadUrl();
    const outputDir = path.join(mkdtempSync(path.join(tmpdir(), 'agnox-output-')), 'test-results');
    const runIds = [`first-${randomUUID()}`, `second-${randomUUID()}`];
    // Two runs while the server is down, into the same output folder, which Playwright empties at the start of each.
    for (const runId of runIds) {
      const run = await runSuite({ ...reporterEnv(down), AGNOX_RUN_ID: runId, AGNOX_SPOOL_DIR: undefined }, [], { outputDir });
      expect(run.code).toBe(baseline.code);
      expect(run.spoolDir).toBe(path.join(defaultDir, 'spool'));
      // Run from the config's folder, the bare command finds the file.
      expect(run.output).toMatch(/results saved to \.agnox\/spool\/agnox-spool-[^ ]+\.jsonl; run `npx agnox-report upload` to send them/);
    }
    const saved = spoolFiles({ spoolDir: path.join(defaultDir, 'spool') } as SuiteRun);
    expect(saved.map((f) => readSpool(f).header.setup.runId).sort()).toEqual([...runIds].sort());
    expect(readFileSync(path.join(defaultDir, 'spool/.gitignore'), 'utf8')).toContain('*');
    // Not a spool: the upload says so and keeps it, after sending the others.
    const broken = path.join(defaultDir, 'spool/agnox-spool-broken.jsonl');
    writeFileSync(broken, 'not a spool\n');

    const back = await startFakeIngest('ok');
    servers.push(back);
    const upload = await runCli(['upload', '--url', back.url], { AGNOX_API_KEY: 'test-key' }, path.dirname(SUITE_CONFIG));
    expect(upload.status).toBe(1);
    expect(back.setups.map((s) => s.runId)).toEqual(runIds);
    expect(back.teardowns).toHaveLength(2);
    expect(back.invalid).toEqual([]);
    expect(upload.stderr).toContain(`agnox-spool-broken.jsonl: ${broken}:1: not JSON (kept; run the command again to retry)`);
    expect(upload.stderr).toContain('1 of 3 saved runs could not be sent');
    expect(spoolFiles({ spoolDir: path.join(defaultDir, 'spool') } as SuiteRun)).toEqual([broken]);

    rmSync(broken);
    const again = await runCli(['upload', '--url', back.url], { AGNOX_API_KEY: 'test-key' }, path.dirname(SUITE_CONFIG));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('no saved runs in');
  });
});

describe('without a key or project', () => {
  it('stays a no-op with one warning and the same exit code', async () => {
    const run = await runSuite({ AGNOX_PROJECT_ID: 'proj-1' });
    expect(run.code).toBe(baseline.code);
    expect(run.output.match(/\[agnox\] reporter disabled: missing apiKey \(AGNOX_API_KEY\)/g)).toHaveLength(1);
    expect(spoolFiles(run)).toEqual([]);
  });
});
