// D1 schema. Every tenant table carries organizationId, and every list index starts with it,
// because every query is scoped to the caller's organization. Timestamps are epoch milliseconds.
// `drizzle-kit generate` turns this file into SQL under migrations/.
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { RunStatus } from '../contracts/vocabulary';

const now = sql`(CAST(unixepoch('subsec') * 1000 AS INTEGER))`;
const createdAt = () => integer('created_at').notNull().default(now);
const updatedAt = () => integer('updated_at').notNull().default(now);
const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();

export type Role = 'admin' | 'developer' | 'viewer';
export type OrgLimits = { maxMembers: number; maxConcurrentRuns: number; runsPerMonth: number; retentionDays: number };

export const organizations = sqliteTable(
  'organizations',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    slug: text('slug').notNull().unique(),
    plan: text('plan').notNull().default('free'),
    limits: json<OrgLimits>('limits').notNull(),
    aiAnalysisEnabled: integer('ai_analysis_enabled', { mode: 'boolean' }).notNull().default(true),
    slackWebhookUrl: text('slack_webhook_url'),
    stripeCustomerId: text('stripe_customer_id'),
    stripeSubscriptionId: text('stripe_subscription_id'),
    /** The Stripe Checkout session last created for this org (POST /api/billing/checkout): only its completion changes the plan. */
    stripeCheckoutSessionId: text('stripe_checkout_session_id'),
    /** When this org last made an AI call (analysis or test steps; bounds cost: one per org per interval). */
    lastAnalysisAt: integer('last_analysis_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('organizations_stripe_customer').on(t.stripeCustomerId)],
);

/**
 * Runs the platform started per organization and billing period (UTC month): the plan's runs-per-month
 * check reads one row instead of counting the month's executions. Written with each run's insert;
 * deleting runs does not give their count back.
 */
export const orgUsage = sqliteTable(
  'org_usage',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Start of the billing period (epoch ms of the month's first instant, UTC): services/plans.ts billingPeriod. */
    periodStart: integer('period_start').notNull(),
    runs: integer('runs').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.periodStart] })],
);

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role').$type<Role>().notNull(),
    lastLoginAt: integer('last_login_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('users_org').on(t.organizationId, t.createdAt)],
);

export const invitations = sqliteTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role').$type<Role>().notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    status: text('status').$type<'pending' | 'accepted' | 'revoked'>().notNull().default('pending'),
    invitedBy: text('invited_by').notNull(),
    expiresAt: integer('expires_at').notNull(),
    acceptedAt: integer('accepted_at'),
    createdAt: createdAt(),
  },
  (t) => [index('invitations_org').on(t.organizationId, t.createdAt)],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull().unique(),
    createdBy: text('created_by').notNull(),
    lastUsedAt: integer('last_used_at'),
    revokedAt: integer('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_org').on(t.organizationId, t.createdAt)],
);

export const projects = sqliteTable(
  'projects',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    image: text('image').notNull(),
    command: text('command'),
    testFolder: text('test_folder'),
    timeoutSeconds: integer('timeout_seconds').notNull().default(3600),
    defaultEnvironment: text('default_environment').notNull().default('staging'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('projects_org_name').on(t.organizationId, t.name), index('projects_org').on(t.organizationId, t.createdAt)],
);

export const projectRunSettings = sqliteTable(
  'project_run_settings',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    environment: text('environment').notNull(),
    baseUrl: text('base_url'),
    variables: json<Record<string, string>>('variables').notNull().default({}),
    secretVariables: json<Record<string, string>>('secret_variables').notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('run_settings_project_env').on(t.projectId, t.environment), index('run_settings_org').on(t.organizationId)],
);

/** A run's status: the list lives in contracts/vocabulary.ts. */
export type ExecutionStatus = RunStatus;
export type ExecutionSource = 'agnox-hosted' | 'external-ci';

export const executions = sqliteTable(
  'executions',
  {
    taskId: text('task_id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    status: text('status').$type<ExecutionStatus>().notNull().default('PENDING'),
    source: text('source').$type<ExecutionSource>().notNull().default('agnox-hosted'),
    trigger: text('trigger').$type<'manual' | 'ci' | 'schedule' | 'cycle' | 'ingest'>().notNull().default('manual'),
    environment: text('environment'),
    image: text('image').notNull(),
    command: text('command'),
    tests: json<string[]>('tests'),
    baseUrl: text('base_url'),
    labels: json<Record<string, string>>('labels'),
    queue: text('queue'),
    /** What the run was asked with beyond the columns above (non-secret variables, pull policy, timeout), for re-runs. */
    runConfig: json<{ envVars?: Record<string, string>; pullPolicy?: string; timeoutSeconds?: number; testFolder?: string | null }>('run_config'),
    reason: text('reason'),
    exitCode: integer('exit_code'),
    agentId: text('agent_id'),
    attempt: integer('attempt').notNull().default(0),
    totalTests: integer('total_tests').notNull().default(0),
    passed: integer('passed').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    skipped: integer('skipped').notNull().default(0),
    flaky: integer('flaky').notNull().default(0),
    timedOut: integer('timed_out').notNull().default(0),
    durationMs: integer('duration_ms'),
    /** When the run's results were folded into test_daily / fingerprint_daily: they are folded in once. */
    resultsFoldedAt: integer('results_folded_at'),
    ingestMeta: json<Record<string, unknown>>('ingest_meta'),
    ciContext: json<Record<string, unknown>>('ci_context'),
    analysis: json<Record<string, unknown>>('analysis'),
    cycleId: text('cycle_id'),
    cycleItemId: text('cycle_item_id'),
    scheduleId: text('schedule_id'),
    triggeredBy: text('triggered_by'),
    createdAt: createdAt(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('executions_org_created').on(t.organizationId, t.createdAt),
    index('executions_org_status').on(t.organizationId, t.status, t.createdAt),
    index('executions_org_project').on(t.organizationId, t.projectId, t.createdAt),
    index('executions_org_source').on(t.organizationId, t.source, t.createdAt),
    index('executions_status_updated').on(t.status, t.updatedAt),
  ],
);

export const testResults = sqliteTable(
  'test_results',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    taskId: text('task_id')
      .notNull()
      .references(() => executions.taskId, { onDelete: 'cascade' }),
    testId: text('test_id').notNull(),
    title: text('title').notNull(),
    file: text('file'),
    suite: text('suite'),
    status: text('status').$type<'passed' | 'failed' | 'skipped' | 'timedOut' | 'interrupted' | 'flaky'>().notNull(),
    durationMs: integer('duration_ms').notNull().default(0),
    retry: integer('retry').notNull().default(0),
    errorMessage: text('error_message'),
    errorStack: text('error_stack'),
    errorLocation: text('error_location'),
    attachments: json<Array<{ name: string; contentType: string; key?: string; size?: number }>>('attachments'),
    startedAt: integer('started_at'),
    /** Normalised error signature (failure intelligence): the same failure across runs shares it. */
    fingerprint: text('fingerprint'),
    projectId: text('project_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('test_results_task').on(t.taskId, t.testId, t.retry),
    index('test_results_org_title').on(t.organizationId, t.title, t.createdAt),
    index('test_results_org_fingerprint').on(t.organizationId, t.fingerprint, t.createdAt),
    index('test_results_org_project').on(t.organizationId, t.projectId, t.createdAt),
  ],
);

/**
 * Per test, per project, per UTC day: what insights and flaky scores need, folded in from each finished
 * run (services/test-aggregates.ts) in one statement, instead of a row per test per run. `day` counts
 * days since the epoch. Run outcomes (passed, failed, flaky) count runs where the test passed or failed;
 * flips are changes between pass and fail from one run to the next, in the order runs were folded in;
 * `commits` holds, for at most a few commits of the day, the outcomes seen on each (bits: 1 passed,
 * 2 failed, 4 flaky), for same-commit flips. `prev*` is the latest run before the last one (so that a
 * run's analysis can ask for the outcome before its own).
 */
export const testDaily = sqliteTable(
  'test_daily',
  {
    organizationId: text('organization_id').notNull(),
    projectId: text('project_id').notNull(),
    day: integer('day').notNull(),
    testKey: text('test_key').notNull(),
    title: text('title').notNull(),
    file: text('file'),
    /** Runs that reported the test at all (skips too). */
    runs: integer('runs').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    /** Failing attempts (failed, timed out, interrupted). */
    failures: integer('failures').notNull().default(0),
    durationSum: integer('duration_sum').notNull().default(0),
    durationMax: integer('duration_max').notNull().default(0),
    lastFailedAt: integer('last_failed_at'),
    passed: integer('passed').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    flaky: integer('flaky').notNull().default(0),
    firstOutcome: text('first_outcome'),
    lastOutcome: text('last_outcome'),
    flips: integer('flips').notNull().default(0),
    /** The last run with an outcome (pass, fail or flaky). */
    lastRunAt: integer('last_run_at'),
    lastFlakyTaskId: text('last_flaky_task_id'),
    commits: text('commits').notNull().default('{}'),
    lastFingerprint: text('last_fingerprint'),
    /** The last run's last attempt, and the run before it. */
    lastTaskId: text('last_task_id').notNull(),
    lastStatus: text('last_status').notNull(),
    lastAt: integer('last_at').notNull(),
    prevTaskId: text('prev_task_id'),
    prevStatus: text('prev_status'),
    prevAt: integer('prev_at'),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.projectId, t.day, t.testKey] })],
);

/** Per failure fingerprint, per project, per UTC day: failing attempts that carried it, runs, first and last run. */
export const fingerprintDaily = sqliteTable(
  'fingerprint_daily',
  {
    organizationId: text('organization_id').notNull(),
    projectId: text('project_id').notNull(),
    day: integer('day').notNull(),
    fingerprint: text('fingerprint').notNull(),
    occurrences: integer('occurrences').notNull().default(0),
    runs: integer('runs').notNull().default(0),
    firstSeenAt: integer('first_seen_at').notNull(),
    firstTaskId: text('first_task_id').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    lastTaskId: text('last_task_id').notNull(),
    /** The run before the last one, so that a run can ask for the history before itself. */
    prevTaskId: text('prev_task_id'),
    prevSeenAt: integer('prev_seen_at'),
    /** The day's latest runs (at most 10 task ids, oldest first): a fingerprint's recent failures are read from their results. */
    recentTaskIds: json<string[]>('recent_task_ids').notNull().default([]),
    /** The latest failing attempt's message (500 characters). */
    sampleMessage: text('sample_message'),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.projectId, t.day, t.fingerprint] }),
    index('fingerprint_daily_org_fingerprint').on(t.organizationId, t.fingerprint, t.day),
  ],
);

export const agents = sqliteTable(
  'agents',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    queue: text('queue').notNull(),
    name: text('name').notNull(),
    labels: json<Record<string, string>>('labels').notNull().default({}),
    arch: text('arch'),
    os: text('os'),
    version: text('version'),
    concurrency: integer('concurrency').notNull().default(1),
    tokenHash: text('token_hash').notNull().unique(),
    disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
    runningJobs: integer('running_jobs').notNull().default(0),
    /** Why the agent cannot run jobs now (it said so in its last poll, e.g. Docker unreachable); null when it can. */
    healthProblem: text('health_problem'),
    lastSeenAt: integer('last_seen_at'),
    createdAt: createdAt(),
  },
  (t) => [index('agents_org').on(t.organizationId, t.createdAt)],
);

export const agentRegistrationTokens = sqliteTable(
  'agent_registration_tokens',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    createdBy: text('created_by').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    agentId: text('agent_id'),
    createdAt: createdAt(),
  },
  (t) => [index('agent_reg_tokens_org').on(t.organizationId, t.createdAt)],
);

export const schedules = sqliteTable(
  'schedules',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    name: text('name').notNull(),
    cron: text('cron').notNull(),
    timezone: text('timezone').notNull().default('UTC'),
    environment: text('environment'),
    image: text('image'),
    folder: text('folder'),
    baseUrl: text('base_url'),
    labels: json<Record<string, string>>('labels'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    lastRunAt: integer('last_run_at'),
    nextRunAt: integer('next_run_at'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('schedules_org').on(t.organizationId, t.createdAt), index('schedules_due').on(t.enabled, t.nextRunAt)],
);

export type TestStep = { action: string; expected: string };

export const testCases = sqliteTable(
  'test_cases',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    title: text('title').notNull(),
    suite: text('suite'),
    description: text('description'),
    preconditions: text('preconditions'),
    steps: json<TestStep[]>('steps').notNull().default([]),
    priority: text('priority').notNull().default('medium'),
    tags: json<string[]>('tags').notNull().default([]),
    type: text('type').$type<'manual' | 'automated'>().notNull().default('manual'),
    /** Automated cases: the test a cycle's run selects (file, folder or test id), passed to the run as its tests. */
    automatedTest: text('automated_test'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('test_cases_org_project').on(t.organizationId, t.projectId, t.createdAt)],
);

export type CycleSummary = { total: number; passed: number; failed: number; blocked: number; skipped: number; pending: number };

export const testCycles = sqliteTable(
  'test_cycles',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    name: text('name').notNull(),
    status: text('status').$type<'PENDING' | 'RUNNING' | 'COMPLETED'>().notNull().default('PENDING'),
    source: text('source').notNull().default('manual'),
    taskId: text('task_id'),
    summary: json<CycleSummary>('summary').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('test_cycles_org').on(t.organizationId, t.createdAt)],
);

export const testCycleItems = sqliteTable(
  'test_cycle_items',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    cycleId: text('cycle_id')
      .notNull()
      .references(() => testCycles.id, { onDelete: 'cascade' }),
    testCaseId: text('test_case_id'),
    type: text('type').$type<'manual' | 'automated'>().notNull(),
    title: text('title').notNull(),
    status: text('status').notNull().default('PENDING'),
    notes: text('notes'),
    taskId: text('task_id'),
    updatedBy: text('updated_by'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('test_cycle_items_cycle').on(t.cycleId)],
);

export const ingestSessions = sqliteTable(
  'ingest_sessions',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    taskId: text('task_id').notNull(),
    cycleId: text('cycle_id'),
    cycleItemId: text('cycle_item_id'),
    apiKeyId: text('api_key_id'),
    runKey: text('run_key'),
    status: text('status').$type<'active' | 'completed' | 'cancelled'>().notNull().default('active'),
    lastEventAt: integer('last_event_at'),
    createdAt: createdAt(),
    closedAt: integer('closed_at'),
  },
  (t) => [
    index('ingest_sessions_org').on(t.organizationId, t.createdAt),
    index('ingest_sessions_status').on(t.status, t.lastEventAt),
    index('ingest_sessions_run_key').on(t.organizationId, t.runKey),
  ],
);

export const auditLogs = sqliteTable(
  'audit_logs',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    userId: text('user_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    details: json<Record<string, unknown>>('details'),
    ip: text('ip'),
    createdAt: createdAt(),
  },
  (t) => [index('audit_logs_org').on(t.organizationId, t.createdAt)],
);

export const webhookLogs = sqliteTable(
  'webhook_logs',
  {
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    status: text('status').notNull(),
    organizationId: text('organization_id'),
    error: text('error'),
    payload: text('payload'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('webhook_logs_event').on(t.provider, t.eventId)],
);

export const revokedTokens = sqliteTable(
  'revoked_tokens',
  {
    jti: text('jti').primaryKey(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('revoked_tokens_expiry').on(t.expiresAt)],
);

/**
 * Failed logins, per email and client address (`client` = the CF-Connecting-IP), plus one row per email
 * across all addresses (`client` = '*'), so that a guesser locks out its own address, not the owner.
 */
export const loginAttempts = sqliteTable(
  'login_attempts',
  {
    email: text('email').notNull(),
    client: text('client').notNull(),
    /** Failures counted since windowStartedAt (worker/services/login-lock.ts). */
    failures: integer('failures').notNull().default(0),
    windowStartedAt: integer('window_started_at').notNull(),
    lockedUntil: integer('locked_until'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.email, t.client] })],
);

/** A flaky test a member quarantined: it still runs and is reported, but its failure does not fail the run. */
export const quarantines = sqliteTable(
  'quarantines',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    projectId: text('project_id').notNull(),
    /** The test's identity across runs: its title path (and file when known). */
    testKey: text('test_key').notNull(),
    title: text('title').notNull(),
    owner: text('owner').notNull(),
    reason: text('reason').notNull(),
    expiresAt: integer('expires_at').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('quarantines_project_test').on(t.organizationId, t.projectId, t.testKey), index('quarantines_org').on(t.organizationId, t.expiresAt)],
);

/** Emails the product sends (invitations, …): the development outbox, and the delivery record with a provider. */
export const emailOutbox = sqliteTable(
  'email_outbox',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    to: text('to').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    provider: text('provider').notNull(),
    status: text('status').$type<'queued' | 'sent' | 'failed' | 'outbox'>().notNull(),
    error: text('error'),
    createdAt: createdAt(),
    sentAt: integer('sent_at'),
  },
  (t) => [index('email_outbox_org').on(t.organizationId, t.createdAt), index('email_outbox_to').on(t.to, t.createdAt)],
);

/** Outgoing notifications (Slack) with their delivery attempts. */
export const notifications = sqliteTable(
  'notifications',
  {
    id: text('id').primaryKey(),
    organizationId: text('organization_id').notNull(),
    taskId: text('task_id'),
    channel: text('channel').notNull(),
    status: text('status').$type<'pending' | 'sent' | 'failed'>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    payload: text('payload'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('notifications_org').on(t.organizationId, t.createdAt),
    // Retention deletes a run's notifications with the run.
    index('notifications_task').on(t.taskId),
  ],
);
