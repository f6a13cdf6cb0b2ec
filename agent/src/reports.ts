// Report collection: unpacks the report folder copied out of the container (a tar stream), and turns
// Playwright's JSON reporter output or JUnit XML into per-test results.
import path from 'node:path';
import type { Readable } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import tar from 'tar-stream';
import { MAX_ARTIFACT_BYTES } from '../../worker/contracts/agent';
import type { TestResult } from '../../worker/contracts/results';

export type ReportFile = { path: string; bytes: Buffer; contentType: string };

export const MAX_REPORT_FILES = 500;
export const MAX_REPORT_TOTAL_BYTES = 200 * 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.htm': 'text/html',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webm': 'video/webm',
  '.zip': 'application/zip',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown',
};
export const contentTypeOf = (p: string) => CONTENT_TYPES[path.extname(p).toLowerCase()] ?? 'application/octet-stream';

/**
 * Reads the files of a `getArchive` tar. Paths are made relative to the archived folder (Docker puts
 * the folder's own name first). Oversized files and anything past the limits are skipped, not fatal.
 */
export async function extractReportArchive(archive: Readable): Promise<{ files: ReportFile[]; skipped: string[] }> {
  const extract = tar.extract();
  const files: ReportFile[] = [];
  const skipped: string[] = [];
  let total = 0;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts = header.name.split('/').filter(Boolean);
      const rel = parts.slice(1).join('/');
      const safe = rel && !parts.some((p) => p === '..');
      if (
        header.type !== 'file' ||
        !safe ||
        (header.size ?? 0) > MAX_ARTIFACT_BYTES ||
        files.length >= MAX_REPORT_FILES ||
        total + (header.size ?? 0) > MAX_REPORT_TOTAL_BYTES
      ) {
        if (header.type === 'file') skipped.push(rel || header.name);
        stream.on('end', next);
        stream.resume();
        return;
      }
      const parts2: Buffer[] = [];
      stream.on('data', (d: unknown) => {
        parts2.push(d as Buffer);
      });
      stream.on('end', () => {
        const bytes = Buffer.concat(parts2);
        total += bytes.length;
        files.push({ path: rel, bytes, contentType: contentTypeOf(rel) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  archive.on('error', (err) => extract.destroy(err));
  archive.pipe(extract);
  await done;
  return { files, skipped };
}

// ---- Playwright JSON reporter ----

type PwError = { message?: string; stack?: string; location?: { file: string; line: number; column: number } };
type PwResult = { status?: string; duration?: number; retry?: number; startTime?: string; errors?: PwError[]; error?: PwError };
type PwTest = { projectName?: string; projectId?: string; status?: string; results?: PwResult[] };
type PwSpec = { id?: string; title: string; file?: string; line?: number; tests?: PwTest[] };
type PwSuite = { title?: string; file?: string; suites?: PwSuite[]; specs?: PwSpec[] };

const PW_STATUS: Record<string, TestResult['status']> = {
  passed: 'passed',
  failed: 'failed',
  timedOut: 'timedOut',
  skipped: 'skipped',
  interrupted: 'interrupted',
};

export function isPlaywrightJson(value: unknown): value is { suites: PwSuite[] } {
  return !!value && typeof value === 'object' && Array.isArray((value as { suites?: unknown }).suites) && 'config' in (value as object);
}

/** One TestResult per attempt; a test that passed on retry gets `flaky` on its last attempt. */
export function parsePlaywrightJson(report: { suites: PwSuite[] }): TestResult[] {
  const out: TestResult[] = [];
  const walk = (suite: PwSuite, titles: string[]) => {
    const here = suite.title && suite.title !== suite.file ? [...titles, suite.title] : titles;
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        const results = test.results ?? [];
        const file = spec.file ?? suite.file;
        const testId = clip([test.projectName, file, ...here, spec.title].filter(Boolean).join(' › '), 500);
        results.forEach((r, i) => {
          let status = PW_STATUS[r.status ?? ''] ?? 'failed';
          if (test.status === 'flaky' && i === results.length - 1 && status === 'passed') status = 'flaky';
          const err = r.error ?? r.errors?.[0];
          out.push({
            testId,
            title: clip(spec.title || '(untitled)', 2000),
            file: file ? clip(file, 1000) : undefined,
            suite: here.length ? clip(here.join(' › '), 2000) : undefined,
            status,
            durationMs: Math.max(0, Math.round(r.duration ?? 0)),
            retry: r.retry ?? i,
            error: err?.message
              ? {
                  message: clip(stripAnsi(err.message), 20_000),
                  stack: err.stack ? clip(stripAnsi(err.stack), 50_000) : undefined,
                  location: err.location ? `${err.location.file}:${err.location.line}:${err.location.column}` : undefined,
                }
              : undefined,
            startedAt: r.startTime ? Date.parse(r.startTime) || undefined : undefined,
          });
        });
      }
    }
    for (const child of suite.suites ?? []) walk(child, here);
  };
  for (const s of report.suites) walk(s, []);
  return out;
}

// ---- JUnit XML ----

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
});

type JUnitProblem = { '#text'?: string; '@_message'?: string; '@_type'?: string } | string;
type JUnitCase = {
  '@_name'?: string;
  '@_classname'?: string;
  '@_file'?: string;
  '@_time'?: string;
  failure?: JUnitProblem[];
  error?: JUnitProblem[];
  skipped?: JUnitProblem[];
};
type JUnitSuite = { '@_name'?: string; '@_file'?: string; testcase?: JUnitCase[]; testsuite?: JUnitSuite[] };

export function parseJUnitXml(text: string): TestResult[] {
  const doc = xml.parse(text) as { testsuites?: { testsuite?: JUnitSuite[]; testcase?: JUnitCase[] } | ''; testsuite?: JUnitSuite[] };
  // <testsuites> may hold suites and, from some runners (node --test), bare top-level testcases.
  const top = typeof doc.testsuites === 'object' ? doc.testsuites : undefined;
  const roots: JUnitSuite[] = [...(top?.testsuite ?? doc.testsuite ?? []), ...(top?.testcase ? [{ testcase: top.testcase }] : [])];
  const out: TestResult[] = [];
  const walk = (suite: JUnitSuite, titles: string[]) => {
    const here = suite['@_name'] ? [...titles, String(suite['@_name'])] : titles;
    for (const tc of suite.testcase ?? []) {
      const title = String(tc['@_name'] ?? '(untitled)');
      const problem = tc.failure?.[0] ?? tc.error?.[0];
      const status: TestResult['status'] = problem !== undefined ? 'failed' : tc.skipped ? 'skipped' : 'passed';
      const message = problem === undefined ? undefined : typeof problem === 'string' ? problem : (problem['@_message'] ?? problem['#text'] ?? 'failed');
      const stack = problem !== undefined && typeof problem === 'object' ? problem['#text']?.trim() : undefined;
      const file = tc['@_file'] ?? suite['@_file'];
      out.push({
        testId: clip([file, ...here, tc['@_classname'], title].filter(Boolean).join(' › ') || title, 500),
        title: clip(title, 2000),
        file: file ? clip(String(file), 1000) : undefined,
        suite: here.length ? clip(here.join(' › '), 2000) : undefined,
        status,
        durationMs: Math.max(0, Math.round(Number(tc['@_time'] ?? 0) * 1000) || 0),
        retry: 0,
        error: message !== undefined ? { message: clip(String(message), 20_000), stack: stack ? clip(String(stack), 50_000) : undefined } : undefined,
      });
    }
    for (const child of suite.testsuite ?? []) walk(child, here);
  };
  for (const s of roots) walk(s, []);
  return out;
}

/**
 * Per-test results from the report files: Playwright JSON when there is one (it knows retries),
 * otherwise every JUnit XML file.
 */
export function testResultsFrom(files: ReportFile[]): { tests: TestResult[]; source: string | null; problems: string[] } {
  const problems: string[] = [];
  for (const f of files.filter((f) => f.path.endsWith('.json'))) {
    try {
      const parsed: unknown = JSON.parse(f.bytes.toString('utf8'));
      if (isPlaywrightJson(parsed)) return { tests: parsePlaywrightJson(parsed), source: f.path, problems };
    } catch (err) {
      problems.push(`${f.path}: ${(err as Error).message}`);
    }
  }
  const tests: TestResult[] = [];
  const sources: string[] = [];
  for (const f of files.filter((f) => f.path.endsWith('.xml'))) {
    try {
      const found = parseJUnitXml(f.bytes.toString('utf8'));
      if (found.length) sources.push(f.path);
      tests.push(...found);
    } catch (err) {
      problems.push(`${f.path}: ${(err as Error).message}`);
    }
  }
  return { tests: tests.slice(0, 10_000), source: sources.length ? sources.join(', ') : null, problems };
}

const clip = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s);
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
