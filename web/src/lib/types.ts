// Shapes the dashboard reads from the API. Where the Worker's contracts (worker/contracts/*) define a
// shape, it is imported from there, type-only, so nothing from the Worker is bundled; the types written
// out below are answers of routes that have no contract yet, as the dashboard reads them.
import type { z } from 'zod';
import type { AnalysisRecord } from '../../../worker/contracts/analysis';
import type { PublicOrganization } from '../../../worker/contracts/auth';
import type { RoleSchema } from '../../../worker/contracts/common';
import type { ExecutionSummary, HubMessage, RoomMessage } from '../../../worker/contracts/live';
import type { TestResult } from '../../../worker/contracts/results';
import type { CiContext as RunCiContext, ExecutionListQuery } from '../../../worker/contracts/runs';
import type { RunStatus } from '../../../worker/contracts/vocabulary';

export type { AnalysisRecord, ExecutionSummary, HubMessage, RoomMessage, RunStatus, TestResult };

export type Role = z.infer<typeof RoleSchema>;
/** Where a run came from, as the executions list filters it. */
export type ExecutionSource = NonNullable<z.output<typeof ExecutionListQuery>['source']>;

/**
 * A run's CI context (contracts/runs.ts), plus three spellings the contract does not have
 * (`provider`, `pr`, `commit`): the panels read them as fallbacks, so a row that holds them still shows.
 */
export type CiContext = z.infer<typeof RunCiContext> & { provider?: string; pr?: number; commit?: string };
export type IngestMeta = {
  runName?: string;
  sessionId?: string;
  reporterVersion?: string;
  framework?: string;
  frameworkVersion?: string;
  totalTests?: number;
  ciContext?: CiContext;
};

/** One execution as the detail endpoint returns it: the summary plus what only the detail page needs. */
export type Execution = ExecutionSummary & {
  command?: string | null;
  tests?: string[] | null;
  labels?: Record<string, string> | null;
  baseUrl?: string | null;
  exitCode?: number | null;
  agentId?: string | null;
  attempt?: number;
  timedOut?: number;
  ingestMeta?: IngestMeta | null;
  analysis?: AnalysisRecord | null;
  reportUrl?: string | null;
  triggeredBy?: string | null;
  queue?: string | null;
  envVars?: Record<string, string>;
  timeoutSeconds?: number | null;
};

export type User = { id: string; email: string; name: string; role: Role; organizationId: string; createdAt: number; lastLoginAt: number | null };
/** The Slack webhook URL comes to admins only; others see slackWebhookConfigured. */
export type Organization = PublicOrganization;
export type Project = {
  id: string;
  name: string;
  image: string;
  command: string | null;
  testFolder: string | null;
  timeoutSeconds: number;
  defaultEnvironment: string;
  createdAt: number;
  updatedAt: number;
};
export type RunSettings = {
  environment: string;
  baseUrl: string | null;
  variables: Record<string, string>;
  secretVariables: Record<string, string>;
  updatedAt: number;
};
export type Invitation = {
  id: string;
  email: string;
  role: Role;
  status: string;
  createdAt: number;
  expiresAt: number;
  acceptedAt: number | null;
  token?: string;
  acceptUrl?: string;
};
export type ApiKey = { id: string; name: string; prefix: string; createdAt: number; lastUsedAt: number | null; revokedAt: number | null; key?: string };
export type Agent = {
  id: string;
  name: string;
  queue?: string;
  labels: Record<string, string>;
  arch: string | null;
  os: string | null;
  version: string | null;
  concurrency: number;
  disabled: boolean;
  runningJobs: number;
  lastSeenAt: number | null;
  online?: boolean;
  createdAt: number;
};
/** One stored report file of a run (GET /api/executions/:taskId/artifacts); `url` serves it to members. */
export type Artifact = { path: string; size: number; contentType: string; uploadedAt: number; url: string };
