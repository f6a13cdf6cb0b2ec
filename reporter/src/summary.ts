// The run's summary, counted per test (not per attempt) from Playwright's own outcomes:
// passed = expected, failed = unexpected (timedOut is the part of those whose last attempt timed
// out), flaky = failed then passed on a retry, skipped. passed + failed + flaky + skipped = total.
import type { FullResult, TestCase } from '@playwright/test/reporter';
import type { TeardownBody } from './wire';

export type Summary = TeardownBody['summary'];

export function summarize(tests: TestCase[], durationMs: number): Summary {
  const s = { total: tests.length, passed: 0, failed: 0, skipped: 0, flaky: 0, timedOut: 0, duration: Math.max(0, Math.round(durationMs)) };
  for (const test of tests) {
    const outcome = test.outcome();
    if (outcome === 'expected') s.passed++;
    else if (outcome === 'flaky') s.flaky++;
    else if (outcome === 'skipped') s.skipped++;
    else {
      s.failed++;
      if (test.results.at(-1)?.status === 'timedOut') s.timedOut++;
    }
  }
  return s;
}

/** Playwright's run status → the execution's final status. */
export function finalStatus(status: FullResult['status']): TeardownBody['status'] {
  switch (status) {
    case 'passed':
      return 'PASSED';
    case 'timedout':
      return 'TIMED_OUT';
    case 'interrupted':
      return 'CANCELLED';
    default:
      return 'FAILED';
  }
}
