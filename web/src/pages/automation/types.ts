// Wire shapes of schedules, test cases and test cycles as the dashboard reads them. A test case's steps,
// priority and type come from the Worker's contract (worker/contracts/test-cases.ts); the records the
// routes answer with have no contract yet.
import type { z } from 'zod';
import type { CaseType as CaseTypeSchema, Priority as PrioritySchema, TestStep } from '../../../../worker/contracts/test-cases';

export type Schedule = {
  id: string;
  projectId: string;
  name: string;
  cron: string;
  timezone: string;
  environment: string | null;
  image: string | null;
  folder: string | null;
  baseUrl: string | null;
  labels: Record<string, string> | null;
  enabled: boolean;
  lastRunAt: number | null;
  nextRunAt: number | null;
  nextRuns: number[];
  createdAt: number;
};

export type Step = z.output<typeof TestStep>;
export type Priority = z.infer<typeof PrioritySchema>;
export type CaseType = z.infer<typeof CaseTypeSchema>;

export type TestCase = {
  id: string;
  projectId: string;
  title: string;
  suite: string | null;
  description: string | null;
  preconditions: string | null;
  steps: Step[];
  priority: Priority;
  tags: string[];
  type: CaseType;
  automatedTest: string | null;
  createdAt: number;
  updatedAt: number;
};

export type CycleSummary = { total: number; passed: number; failed: number; blocked: number; skipped: number; pending: number };

export type CycleItem = {
  id: string;
  cycleId: string;
  testCaseId: string | null;
  type: CaseType;
  title: string;
  status: string;
  notes: string | null;
  taskId: string | null;
  updatedAt: number;
};

export type Cycle = {
  id: string;
  projectId: string;
  name: string;
  status: 'PENDING' | 'RUNNING' | 'COMPLETED';
  source: string;
  taskId: string | null;
  summary: CycleSummary;
  createdAt: number;
  updatedAt: number;
  items?: CycleItem[];
};
