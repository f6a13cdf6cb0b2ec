// Per-test results as the table shows them: one row per test (its latest attempt), with the number
// of retries it took. Live `tests` messages and the stored list merge the same way.
import type { TestResult } from './types';

export function mergeResults(current: readonly TestResult[], incoming: readonly TestResult[]): TestResult[] {
  const byTest = new Map(current.map((r) => [r.testId, r] as const));
  for (const r of incoming) {
    const known = byTest.get(r.testId);
    if (!known || r.retry >= known.retry) byTest.set(r.testId, r);
  }
  return [...byTest.values()];
}

const ORDER: Record<string, number> = { failed: 0, timedOut: 1, interrupted: 2, flaky: 3, passed: 4, skipped: 5 };

/** Failures first, then by file and title, so the table opens on what needs attention. */
export const sortResults = (rows: TestResult[]) =>
  rows.slice().sort((a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || (a.file ?? '').localeCompare(b.file ?? '') || a.title.localeCompare(b.title));
