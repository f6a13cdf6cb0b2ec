// Plans and their limits, in one place, and the checks that enforce them. An organization's
// `limits` column holds its effective limits (the plan's, unless support set custom ones), so
// enforcement reads the org row; changing plan (Stripe) rewrites both.
import { and, count, eq, inArray, ne, sql } from 'drizzle-orm';
import { executions, organizations, orgUsage, users, type OrgLimits } from '../db/schema';
import { ApiError, notFound, tooManyRequests } from '../lib/errors';
import { FREE_PLAN_LIMITS } from './accounts';
import { ACTIVE_STATUSES } from '../contracts/vocabulary';
import type { Db } from '../bindings';

export const PLAN_NAMES = ['free', 'team', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export const PLANS: Record<PlanName, { label: string; limits: OrgLimits }> = {
  free: { label: 'Free', limits: FREE_PLAN_LIMITS },
  team: { label: 'Team', limits: { maxMembers: 50, maxConcurrentRuns: 20, runsPerMonth: 20_000, retentionDays: 90 } },
  enterprise: { label: 'Enterprise', limits: { maxMembers: 1000, maxConcurrentRuns: 100, runsPerMonth: 1_000_000, retentionDays: 365 } },
};

export const isPlanName = (name: unknown): name is PlanName => typeof name === 'string' && (PLAN_NAMES as readonly string[]).includes(name);

/** How long a caller refused for concurrency should wait before trying again (runs usually take minutes). */
export const CONCURRENCY_RETRY_AFTER_SECONDS = 30;

/** The UTC calendar month `now` falls in: the period runs-per-month count over. */
export function billingPeriod(now = Date.now()) {
  const d = new Date(now);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/**
 * What the organization uses now, against its limits. Runs are those the platform starts (hosted or
 * self-hosted agents; external-CI reports are not counted), as counted in org_usage when each was
 * created. Concurrency counts runs queued or running on the hosted fleet: that is the platform's
 * capacity a plan sells, while the org's own agents bound its self-hosted runs.
 */
export async function usageOf(db: Db, organizationId: string, now = Date.now()) {
  const period = billingPeriod(now);
  const [[org], [monthly], [hosted], [selfHosted], [members]] = await db.batch([
    orgRow(db, organizationId),
    periodRuns(db, organizationId, period.start),
    activeRuns(db, organizationId, 'hosted'),
    activeRuns(db, organizationId, 'org'),
    db.select({ n: count() }).from(users).where(eq(users.organizationId, organizationId)),
  ]);
  if (!org) throw notFound('Organization');
  return {
    plan: org.plan,
    limits: org.limits,
    period,
    usage: { runsThisPeriod: monthly?.runs ?? 0, concurrentRuns: hosted?.n ?? 0, selfHostedActiveRuns: selfHosted?.n ?? 0, members: members?.n ?? 0 },
  };
}

const orgRow = (db: Db, organizationId: string) =>
  db.select({ plan: organizations.plan, limits: organizations.limits }).from(organizations).where(eq(organizations.id, organizationId)).limit(1);

const periodRuns = (db: Db, organizationId: string, periodStart: number) =>
  db
    .select({ runs: orgUsage.runs })
    .from(orgUsage)
    .where(and(eq(orgUsage.organizationId, organizationId), eq(orgUsage.periodStart, periodStart)));

const activeRuns = (db: Db, organizationId: string, queue: 'org' | 'hosted') =>
  db
    .select({ n: count() })
    .from(executions)
    .where(
      and(
        eq(executions.organizationId, organizationId),
        eq(executions.source, 'agnox-hosted'),
        queue === 'hosted' ? eq(executions.queue, 'hosted') : ne(executions.queue, 'hosted'),
        inArray(executions.status, ACTIVE_STATUSES),
      ),
    );

/** Counts one more platform run in its billing period: goes in the same batch as the run's insert. */
export const countRun = (db: Db, organizationId: string, now: number) =>
  db
    .insert(orgUsage)
    .values({ organizationId, periodStart: billingPeriod(now).start, runs: 1 })
    .onConflictDoUpdate({ target: [orgUsage.organizationId, orgUsage.periodStart], set: { runs: sql`${orgUsage.runs} + 1` } });

/**
 * Refuses a new run the plan does not allow: 402 PLAN_LIMIT when the month's runs are used up
 * (waiting does not help), 429 CONCURRENCY_LIMIT with Retry-After when too many hosted runs are
 * queued or running at once.
 */
export async function assertRunAllowed(db: Db, organizationId: string, queue: 'org' | 'hosted', now = Date.now()) {
  const period = billingPeriod(now);
  // Two reads of one row each; the hosted fleet's concurrency is counted only for a hosted run.
  const [[org], [monthly], [hosted]] =
    queue === 'hosted'
      ? await db.batch([orgRow(db, organizationId), periodRuns(db, organizationId, period.start), activeRuns(db, organizationId, 'hosted')])
      : [...(await db.batch([orgRow(db, organizationId), periodRuns(db, organizationId, period.start)])), []];
  if (!org) throw notFound('Organization');
  const { plan, limits } = org;
  const usage = { runsThisPeriod: monthly?.runs ?? 0, concurrentRuns: hosted?.n ?? 0 };
  if (usage.runsThisPeriod >= limits.runsPerMonth) {
    throw new ApiError(
      402,
      'PLAN_LIMIT',
      `Your ${plan} plan allows ${limits.runsPerMonth} runs a month and this month's are used up; upgrade the plan or wait until ${new Date(period.end).toISOString().slice(0, 10)}`,
      { limit: 'runsPerMonth', allowed: limits.runsPerMonth, used: usage.runsThisPeriod },
    );
  }
  if (queue === 'hosted' && usage.concurrentRuns >= limits.maxConcurrentRuns) {
    const err = tooManyRequests(
      CONCURRENCY_RETRY_AFTER_SECONDS,
      'CONCURRENCY_LIMIT',
      `Your ${plan} plan allows ${limits.maxConcurrentRuns} runs queued or running at once on the hosted fleet; wait for one to finish, use your own agents, or upgrade the plan`,
    );
    Object.assign(err.extra, { limit: 'maxConcurrentRuns', allowed: limits.maxConcurrentRuns, used: usage.concurrentRuns });
    throw err;
  }
}

/** Refuses an invitation that would take the org past its member limit (pending invitations hold seats). */
export function memberLimitError(plan: string, limits: OrgLimits, members: number, pending: number) {
  const held = pending ? ` (${members} members and ${pending} pending ${pending === 1 ? 'invitation' : 'invitations'})` : '';
  return new ApiError(
    402,
    'PLAN_LIMIT',
    `Your ${plan} plan allows ${limits.maxMembers} members${held}; upgrade the plan or revoke a pending invitation to invite more`,
    { limit: 'maxMembers', allowed: limits.maxMembers, used: members + pending },
  );
}
