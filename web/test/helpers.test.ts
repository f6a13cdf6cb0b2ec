import { describe, expect, it } from 'vitest';
import { providerName } from '../src/components/SourceBadge';
import { safeNext } from '../src/lib/form';
import { formatKeyValues, parseKeyValues } from '../src/lib/kv';
import { can } from '../src/lib/permissions';
import { match } from '../src/lib/router';
import { mergeResults, sortResults } from '../src/lib/test-results';
import type { TestResult } from '../src/lib/types';

const result = (testId: string, status: TestResult['status'], retry = 0, title = testId): TestResult => ({ testId, title, status, retry, durationMs: 1 });

describe('per-test results', () => {
  it('keeps the latest attempt of each test, whatever order attempts arrive in', () => {
    const merged = mergeResults([result('a', 'failed', 0)], [result('a', 'passed', 1), result('b', 'passed')]);
    expect(merged.find((r) => r.testId === 'a')).toMatchObject({ status: 'passed', retry: 1 });
    expect(mergeResults(merged, [result('a', 'failed', 0)]).find((r) => r.testId === 'a')!.retry).toBe(1);
    expect(merged).toHaveLength(2);
  });

  it('lists failures first', () => {
    const sorted = sortResults([result('p', 'passed'), result('s', 'skipped'), result('f', 'failed'), result('t', 'timedOut')]);
    expect(sorted.map((r) => r.testId)).toEqual(['f', 't', 'p', 's']);
  });
});

describe('KEY=value text', () => {
  it('parses lines, skips blanks and comments, reports bad lines by number', () => {
    expect(parseKeyValues('A=1\n\n# note\nB = two=2\nbroken\n=x')).toEqual({
      map: { A: '1', B: 'two=2' },
      errors: ['Line 5: expected KEY=value', 'Line 6: expected KEY=value'],
    });
    expect(formatKeyValues({ A: '1', B: 'x' })).toBe('A=1\nB=x');
    expect(parseKeyValues(formatKeyValues({ X: 'a=b' })).map).toEqual({ X: 'a=b' });
  });
});

describe('routing and redirects', () => {
  it('matches patterns and decodes params', () => {
    expect(match('/executions/:taskId', '/executions/run%2F1')).toEqual({ taskId: 'run/1' });
    expect(match('/executions/:taskId', '/executions')).toBeNull();
    expect(match('/settings/:tab', '/settings/members/extra')).toBeNull();
    expect(match('/executions/:taskId', '/executions/%E0%A4%A')).toBeNull();
  });

  it('only returns to paths on this site after login', () => {
    expect(safeNext('?next=%2Fexecutions%3Fstatus%3DFAILED')).toBe('/executions?status=FAILED');
    expect(safeNext('?next=https%3A%2F%2Fevil.test')).toBe('/executions');
    expect(safeNext('?next=%2F%2Fevil.test')).toBe('/executions');
    expect(safeNext('?next=%2F%5Cevil.test')).toBe('/executions');
    expect(safeNext('')).toBe('/executions');
  });
});

describe('roles', () => {
  it('offers each action only from the role the server requires', () => {
    expect(can('viewer', 'runTests')).toBe(false);
    expect(can('developer', 'runTests')).toBe(true);
    expect(can('developer', 'manageApiKeys')).toBe(false);
    expect(can('admin', 'manageAgents')).toBe(true);
    expect(can(undefined, 'runTests')).toBe(false);
  });
});

describe('CI provider names', () => {
  it('names known providers and keeps unknown ones readable', () => {
    expect(providerName({ source: 'github' })).toBe('GitHub Actions');
    expect(providerName({ provider: 'GitLab' })).toBe('GitLab CI');
    expect(providerName({ source: 'drone' })).toBe('Drone');
    expect(providerName(null)).toBeNull();
  });
});

describe('test counts', () => {
  const base = { status: 'PASSED', totalTests: 0, passed: 0, failed: 0, skipped: 0, flaky: 0 };
  it('summarises finished runs, leaving out zero extras', async () => {
    const { testsSummary } = await import('../src/lib/format');
    expect(testsSummary({ ...base, totalTests: 3, passed: 3 })).toBe('3 passed');
    expect(testsSummary({ ...base, status: 'FAILED', totalTests: 4, passed: 2, failed: 1, skipped: 1 })).toBe('2 passed · 1 failed · 1 skipped');
    expect(testsSummary({ ...base, status: 'FAILED', totalTests: 2, passed: 1, flaky: 1 })).toBe('1 passed · 1 flaky');
    expect(testsSummary(base)).toBe('—');
  });
  it('shows progress while a run with a known count is going', async () => {
    const { testsSummary } = await import('../src/lib/format');
    expect(testsSummary({ ...base, status: 'RUNNING', totalTests: 3, passed: 1 })).toBe('1/3 done');
    expect(testsSummary({ ...base, status: 'RUNNING', totalTests: 3, passed: 3 })).toBe('3 passed');
  });
});
