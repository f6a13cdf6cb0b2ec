// Creating organizations and members, and the public view of a user or organization.
import type { PublicOrganization } from '../contracts/auth';
import type { users, organizations, OrgLimits, Role } from '../db/schema';

export const FREE_PLAN_LIMITS: OrgLimits = { maxMembers: 10, maxConcurrentRuns: 5, runsPerMonth: 2000, retentionDays: 30 };

export function slugify(name: string): string {
  const base = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return base || 'org';
}

export const publicUser = (u: typeof users.$inferSelect) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  organizationId: u.organizationId,
  createdAt: u.createdAt,
  lastLoginAt: u.lastLoginAt,
});

/** The organization as `role` may read it: the Slack webhook URL (a credential) for admins only; the Stripe ids stay with /api/billing. */
export const publicOrganization = (o: Omit<typeof organizations.$inferSelect, 'stripeCheckoutSessionId'>, role: Role): PublicOrganization => ({
  id: o.id,
  name: o.name,
  slug: o.slug,
  plan: o.plan,
  limits: o.limits,
  aiAnalysisEnabled: o.aiAnalysisEnabled,
  slackWebhookConfigured: Boolean(o.slackWebhookUrl),
  ...(role === 'admin' ? { slackWebhookUrl: o.slackWebhookUrl } : {}),
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
});
