// Wire shapes of the insights page. Day points, test statistics and quarantine entries come from the
// Worker's contracts; the flaky-test record, the insights answer and the AI status have no contract yet.
import type { DayPoint, TestStat } from '../../../../worker/contracts/insights';
import type { QuarantineEntry } from '../../../../worker/contracts/quarantine';

export type { DayPoint, QuarantineEntry, TestStat };

export type FlakyTest = {
  testKey: string;
  title: string;
  file: string | null;
  runs: number;
  retriedPasses: number;
  flips: number;
  sameCommitFlips: number;
  score: number;
};
/** GET /api/insights/projects/:id?days=N */
export type ProjectInsights = { totals: DayPoint; series: DayPoint[]; slowestTests: TestStat[]; mostFailing: TestStat[]; flaky: FlakyTest[] };
/** GET /api/insights/ai-status: whether failed runs get an AI analysis, and why not. */
export type AiStatus = { enabled: boolean; message?: string; model?: string };
