import { z } from 'zod';
import { RoleSchema } from './common';

const Email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
/** Minimum password policy: 10+ characters with a letter and a digit. */
export const Password = z
  .string()
  .min(10, 'Password must be at least 10 characters')
  .max(200)
  .regex(/[A-Za-z]/, 'Password must contain a letter')
  .regex(/[0-9]/, 'Password must contain a digit');

export const SignupBody = z.object({
  email: Email,
  password: Password,
  name: z.string().trim().min(1).max(100),
  organizationName: z.string().trim().min(2).max(100),
});
export const LoginBody = z.object({ email: Email, password: z.string().min(1).max(200) });
export const WsTicketBody = z.object({ taskId: z.string().min(1).max(100).optional() });

export const InvitationCreateBody = z.object({ email: Email, role: RoleSchema.default('developer') });
export const InvitationAcceptBody = z.object({ token: z.string().min(10).max(200), name: z.string().trim().min(1).max(100), password: Password });

export const UserUpdateBody = z.object({ role: RoleSchema });

export const OrganizationUpdateBody = z
  .object({
    name: z.string().trim().min(2).max(100).optional(),
    aiAnalysisEnabled: z.boolean().optional(),
    slackWebhookUrl: z
      .union([
        z.url({ protocol: /^https$/, hostname: /^hooks\.slack\.com$/, error: 'Slack webhook must be an https://hooks.slack.com/ URL' }).max(500),
        z.null(),
      ])
      .optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'Nothing to update');

export const ApiKeyCreateBody = z.object({ name: z.string().trim().min(1).max(100) });

/**
 * The organization as members read it (/api/organization, /api/auth/me, login, sign-up, accept). The Slack
 * webhook URL is a credential (anyone holding it can post to the channel): only admins get it; every
 * member learns whether one is set.
 */
export type PublicOrganization = {
  id: string;
  name: string;
  slug: string;
  plan: string;
  aiAnalysisEnabled: boolean;
  limits: { maxMembers: number; maxConcurrentRuns: number; runsPerMonth: number; retentionDays: number };
  slackWebhookConfigured: boolean;
  /** Admins only. */
  slackWebhookUrl?: string | null;
  createdAt: number;
  updatedAt: number;
};
