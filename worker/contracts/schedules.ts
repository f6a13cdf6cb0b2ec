// Schedules: a CRON expression in a time zone that starts a project's run (trigger `schedule`).
// The expression is checked with croner, the same parser the scheduler uses, so a 400 carries the
// parser's own message.
import { Cron } from 'croner';
import { z } from 'zod';
import { EnvironmentName, IdParam, LabelMap } from './common';
import { DockerImage } from './projects';

/** Five fields (minute hour day-of-month month day-of-week) or a nickname: the trigger fires once a minute, so no seconds field. */
const FIVE_FIELDS = /^(\S+\s+){4}\S+$/;
const NICKNAMES = /^@(yearly|annually|monthly|weekly|daily|hourly)$/i;

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why `expression` is not a usable schedule, or null when it is. */
export function cronProblem(expression: string, timezone = 'UTC'): string | null {
  const expr = expression.trim();
  if (!FIVE_FIELDS.test(expr) && !NICKNAMES.test(expr)) {
    return `expected 5 fields (minute hour day-of-month month day-of-week) or a nickname like @daily, got '${expr}'`;
  }
  try {
    const cron = new Cron(expr, { timezone, paused: true });
    if (!cron.nextRun()) return `'${expr}' never runs`;
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const TimeZone = z.string().trim().min(1).max(64).refine(isTimeZone, { message: 'unknown time zone; use an IANA name such as Europe/Berlin or UTC' });
export const CronExpression = z.string().trim().min(1).max(120);

const scheduleFields = {
  name: z.string().trim().min(1).max(200),
  cron: CronExpression,
  timezone: TimeZone,
  environment: EnvironmentName.nullable(),
  image: DockerImage.nullable(),
  /** Test folder or file to run (passed to the run as its test selection). */
  folder: z.string().trim().min(1).max(500).nullable(),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable(),
  labels: LabelMap.nullable(),
  enabled: z.boolean(),
};

const withValidCron = <T extends { cron?: string; timezone?: string }>(value: T, ctx: z.RefinementCtx) => {
  if (value.cron === undefined) return;
  const problem = cronProblem(value.cron, value.timezone ?? 'UTC');
  if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `invalid CRON expression: ${problem}` });
};

export const ScheduleCreateBody = z
  .object({
    ...scheduleFields,
    projectId: IdParam,
    timezone: TimeZone.default('UTC'),
    environment: scheduleFields.environment.optional(),
    image: scheduleFields.image.optional(),
    folder: scheduleFields.folder.optional(),
    baseUrl: scheduleFields.baseUrl.optional(),
    labels: scheduleFields.labels.optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine(withValidCron);

/** Any subset of the fields; null clears an optional one. Changing cron or timezone re-checks the pair. */
export const ScheduleUpdateBody = z.object(scheduleFields).partial().superRefine(withValidCron);

export const NextRunsQuery = z
  .object({
    cron: CronExpression,
    timezone: TimeZone.default('UTC'),
    count: z.coerce.number().int().min(1).max(20).default(5),
  })
  .superRefine(withValidCron);
