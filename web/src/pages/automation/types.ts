// Wire shapes of schedules, test cases and test cycles as the dashboard reads them.
export type Schedule = {
  id: string; projectId: string; name: string; cron: string; timezone: string; environment: string | null; image: string | null;
  folder: string | null; baseUrl: string | null; labels: Record<string, string> | null; enabled: boolean;
  lastRunAt: number | null; nextRunAt: number | null; nextRuns: number[]; createdAt: number;
};

export type Step = { action: string; expected: string };
export type Priority = 'low' | 'medium' | 'high' | 'critical';

export type TestCase = {
  id: string; projectId: string; title: string; suite: string | null; description: string | null; preconditions: string | null;
  steps: Step[]; priority: Priority; tags: string[]; type: 'manual' | 'automated'; automatedTest: string | null; createdAt: number; updatedAt: number;
};

export type CycleSummary = { total: number; passed: number; failed: number; blocked: number; skipped: number; pending: number };

export type CycleItem = {
  id: string; cycleId: string; testCaseId: string | null; type: 'manual' | 'automated'; title: string; status: string;
  notes: string | null; taskId: string | null; updatedAt: number;
};

export type Cycle = {
  id: string; projectId: string; name: string; status: 'PENDING' | 'RUNNING' | 'COMPLETED'; source: string; taskId: string | null;
  summary: CycleSummary; createdAt: number; updatedAt: number; items?: CycleItem[];
};
