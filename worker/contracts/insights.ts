// Insights API shapes (no model needed): per-project trends, failure fingerprints, image metrics.
import { z } from 'zod';

export const MAX_INSIGHT_DAYS = 90;

export const InsightWindowQuery = z.object({
  days: z.coerce.number().int().min(1).max(MAX_INSIGHT_DAYS).default(30),
});

export const FingerprintListQuery = InsightWindowQuery.extend({
  projectId: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export const Fingerprint = z.string().regex(/^[0-9a-f]{8,64}$/, 'a fingerprint is lowercase hex');

export type DayPoint = { day: string; runs: number; passed: number; failed: number; passRate: number | null; p50Ms: number | null; p95Ms: number | null };

export type TestStat = {
  testKey: string;
  title: string;
  file: string | null;
  runs: number;
  failures: number;
  avgMs: number;
  maxMs: number;
  lastFailedAt: number | null;
};

export type FingerprintHistory = {
  fingerprint: string;
  occurrences: number;
  runs: number;
  projects: number;
  firstSeenAt: number;
  firstTaskId: string;
  lastSeenAt: number;
  lastTaskId: string;
  sampleMessage: string | null;
};
