// Summary counts of a run from its per-attempt test results. A test's outcome is its last attempt;
// a test that failed and then passed on a retry is flaky.
import type { TestResult } from '../contracts/results';

export type ResultSummary = { totalTests: number; passed: number; failed: number; skipped: number; flaky: number; timedOut: number };

export function finalOutcomes(tests: TestResult[]): Map<string, { last: TestResult; failedBefore: boolean }> {
  const byTest = new Map<string, { last: TestResult; failedBefore: boolean }>();
  for (const t of [...tests].sort((a, b) => (a.retry ?? 0) - (b.retry ?? 0))) {
    const prev = byTest.get(t.testId);
    const failedBefore = (prev?.failedBefore ?? false) || (prev !== undefined && prev.last.status !== 'passed' && prev.last.status !== 'skipped');
    byTest.set(t.testId, { last: t, failedBefore });
  }
  return byTest;
}

export function summarizeResults(tests: TestResult[]): ResultSummary {
  const s: ResultSummary = { totalTests: 0, passed: 0, failed: 0, skipped: 0, flaky: 0, timedOut: 0 };
  for (const { last, failedBefore } of finalOutcomes(tests).values()) {
    s.totalTests += 1;
    if (last.status === 'flaky' || (last.status === 'passed' && failedBefore)) s.flaky += 1;
    else if (last.status === 'passed') s.passed += 1;
    else if (last.status === 'skipped') s.skipped += 1;
    else if (last.status === 'timedOut') {
      s.timedOut += 1;
      s.failed += 1;
    } else s.failed += 1;
  }
  return s;
}
