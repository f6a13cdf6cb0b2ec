// Runs the fixture suite (reporter/test/fixtures/suite) with real Playwright and Chromium, and
// reads Playwright's own JSON report of it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPORTER_DIR } from './build';

export const SUITE_CONFIG = path.join(REPORTER_DIR, 'test/fixtures/suite/playwright.config.ts');

export type SuiteRun = { code: number | null; wallMs: number; output: string; outputDir: string; spoolDir: string; jsonFile: string };

/**
 * Runs the suite; `env` sets AGNOX_* (the reporter's config) and anything else. Each run gets its
 * own output folder (unless `outputDir` is given) and its own spool folder (unless `env` has
 * AGNOX_SPOOL_DIR; `AGNOX_SPOOL_DIR: undefined` leaves the reporter's default, beside the config).
 */
export async function runSuite(env: Record<string, string | undefined>, args: string[] = [], opts: { outputDir?: string } = {}): Promise<SuiteRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'agnox-suite-'));
  const outputDir = opts.outputDir ?? path.join(dir, 'test-results');
  if (!('AGNOX_SPOOL_DIR' in env)) env = { ...env, AGNOX_SPOOL_DIR: path.join(dir, 'spool') };
  const spoolDir = env.AGNOX_SPOOL_DIR ?? path.join(path.dirname(SUITE_CONFIG), '.agnox/spool');
  const jsonFile = path.join(dir, 'report.json');
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AGNOX_') && !/^(CI|GITHUB_|GITLAB_|TF_BUILD|JENKINS_URL|CIRCLECI|BUILDKITE)/.test(k)),
  );
  const started = performance.now();
  const child = spawn(BIN('playwright'), ['test', '-c', SUITE_CONFIG, ...args], {
    cwd: path.dirname(SUITE_CONFIG),
    env: { ...clean, PW_OUTPUT_DIR: outputDir, PW_JSON_OUTPUT: jsonFile, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, wallMs: performance.now() - started, output, outputDir, spoolDir, jsonFile };
}

export type JsonAttempt = { status: string; retry: number; duration: number; error?: string };
export type JsonTest = { id: string; title: string; file: string; outcome: string; attempts: JsonAttempt[] };

const plain = (s: string | undefined) => s?.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

/** Playwright's JSON report, flattened to one entry per test. */
export function readJsonReport(file: string): { tests: JsonTest[]; stats: { expected: number; unexpected: number; flaky: number; skipped: number } } {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const tests: JsonTest[] = [];
  const walk = (suite: any) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests) {
        tests.push({
          id: spec.id,
          title: spec.title,
          file: spec.file,
          outcome: t.status,
          attempts: t.results.map((r: any) => ({
            status: r.status,
            retry: r.retry,
            duration: r.duration,
            error: plain(r.error?.message ?? r.errors?.[0]?.message),
          })),
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const s of report.suites) walk(s);
  return { tests, stats: report.stats };
}
