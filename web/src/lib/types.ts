// Shapes the dashboard reads from the API. Wire messages come from the Worker's contracts (type-only
// imports: nothing from the Worker is bundled).
import type { PublicOrganization } from '../../../worker/contracts/auth';
import type { ExecutionSummary, HubMessage, RoomMessage } from '../../../worker/contracts/live';
import type { TestResult } from '../../../worker/contracts/results';

export type { ExecutionSummary, HubMessage, RoomMessage, TestResult };

export type Role = 'admin' | 'developer' | 'viewer';
export type ExecutionStatus = ExecutionSummary['status'];
export type ExecutionSource = 'agnox-hosted' | 'external-ci';

export type CiContext = {
  source?: string; provider?: string; repository?: string; branch?: string; prNumber?: number; pr?: number;
  commitSha?: string; commit?: string; runUrl?: string;
};
export type IngestMeta = { runName?: string; sessionId?: string; reporterVersion?: string; framework?: string; frameworkVersion?: string; totalTests?: number; ciContext?: CiContext };
/** executions.analysis (worker/contracts/analysis.ts AnalysisRecord). */
export type Analysis = {
  status?: 'pending' | 'done' | 'failed' | 'skipped'; summary?: string; likelyCause?: string; category?: string; suggestedFix?: string;
  confidence?: number; error?: string; code?: string; model?: string; truncated?: boolean; at?: number;
};

/** One execution as the detail endpoint returns it: the summary plus what only the detail page needs. */
export type Execution = ExecutionSummary & {
  command?: string | null; tests?: string[] | null; labels?: Record<string, string> | null; baseUrl?: string | null;
  exitCode?: number | null; agentId?: string | null; attempt?: number; timedOut?: number;
  ingestMeta?: IngestMeta | null; analysis?: Analysis | null; reportUrl?: string | null; triggeredBy?: string | null;
  queue?: string | null; envVars?: Record<string, string>; timeoutSeconds?: number | null;
};

export type User = { id: string; email: string; name: string; role: Role; organizationId: string; createdAt: number; lastLoginAt: number | null };
/** The Slack webhook URL comes to admins only; others see slackWebhookConfigured. */
export type Organization = PublicOrganization;
export type Project = {
  id: string; name: string; image: string; command: string | null; testFolder: string | null; timeoutSeconds: number;
  defaultEnvironment: string; createdAt: number; updatedAt: number;
};
export type RunSettings = { environment: string; baseUrl: string | null; variables: Record<string, string>; secretVariables: Record<string, string>; updatedAt: number };
export type Invitation = { id: string; email: string; role: Role; status: string; createdAt: number; expiresAt: number; acceptedAt: number | null; token?: string; acceptUrl?: string };
export type ApiKey = { id: string; name: string; prefix: string; createdAt: number; lastUsedAt: number | null; revokedAt: number | null; key?: string };
export type Agent = {
  id: string; name: string; queue?: string; labels: Record<string, string>; arch: string | null; os: string | null; version: string | null;
  concurrency: number; disabled: boolean; runningJobs: number; lastSeenAt: number | null; online?: boolean; createdAt: number;
};
export type Artifact = { name: string; key?: string; url?: string; size?: number; contentType?: string };
