// Slack notification when a run reaches a final status: one message to the org's incoming webhook with
// status, project, counts, duration, the AI summary and a link. Delivery is retried a bounded number of
// times and recorded in `notifications`; it never throws, so nothing waits on Slack.
import { eq } from 'drizzle-orm';
import type { AnalysisRecord } from '../contracts/analysis';
import { notifications, organizations, projects } from '../db/schema';
import type { Env } from '../env';
import { newId } from '../lib/crypto';
import type { ExecutionRow } from './executions';
import { dbOf } from '../bindings';

export const SLACK_MAX_ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 5_000;
const BACKOFF_MS = [250, 1000];

/** Only Slack's own incoming-webhook host, over https (the org setting is validated the same way). */
export function isSlackWebhookUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname === 'hooks.slack.com' && u.pathname.startsWith('/services/') && !u.username && !u.password && !u.port;
  } catch {
    return false;
  }
}

/** Where to POST: the webhook itself, or (tests) the same path on SLACK_WEBHOOK_ORIGIN. */
export function deliveryUrl(env: Pick<Env, 'SLACK_WEBHOOK_ORIGIN'>, webhookUrl: string): string {
  if (!env.SLACK_WEBHOOK_ORIGIN) return webhookUrl;
  const u = new URL(webhookUrl);
  return `${env.SLACK_WEBHOOK_ORIGIN.replace(/\/+$/, '')}${u.pathname}${u.search}`;
}

const EMOJI: Record<string, string> = {
  PASSED: ':white_check_mark:',
  FAILED: ':x:',
  ERROR: ':warning:',
  CANCELLED: ':no_entry_sign:',
  TIMED_OUT: ':hourglass:',
};

function formatDuration(ms: number | null): string {
  if (ms == null) return 'n/a';
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

/** Slack's `mrkdwn` treats &, < and > specially. */
const escapeMrkdwn = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The message (Block Kit, with `text` as the notification fallback). */
export function slackMessage(row: ExecutionRow, projectName: string, publicUrl: string) {
  const link = `${publicUrl.replace(/\/+$/, '')}/executions/${row.taskId}`;
  const analysis = row.analysis as AnalysisRecord | null;
  const counts = `${row.passed} passed, ${row.failed} failed, ${row.flaky} flaky, ${row.skipped} skipped (${row.totalTests} tests)`;
  const title = `${EMOJI[row.status] ?? ''} ${projectName}: run ${row.status}`.trim();
  const fields = [
    { type: 'mrkdwn', text: `*Status*\n${row.status}` },
    { type: 'mrkdwn', text: `*Project*\n${escapeMrkdwn(projectName)}` },
    { type: 'mrkdwn', text: `*Tests*\n${counts}` },
    { type: 'mrkdwn', text: `*Duration*\n${formatDuration(row.durationMs)}` },
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'section', fields },
  ];
  let aiText: string | null = null;
  if (analysis?.status === 'done' && analysis.summary) {
    aiText = `*AI analysis* (${analysis.category ?? 'unknown'}, confidence ${Math.round((analysis.confidence ?? 0) * 100)}%)\n${escapeMrkdwn(analysis.summary)}`;
  } else if (analysis?.status === 'failed' || analysis?.status === 'skipped') {
    aiText = `*AI analysis ${analysis.status}*: ${escapeMrkdwn(analysis.error ?? 'no reason given')}`;
  }
  if (aiText) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: aiText.slice(0, 3000) } });
  blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: link }] });
  return { text: `${title} — ${counts} — ${link}`, blocks };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POSTs with bounded retries (network errors, 429 and 5xx retry; other 4xx are final). */
export async function deliver(url: string, payload: unknown): Promise<{ ok: boolean; attempts: number; error?: string }> {
  let error = '';
  for (let attempt = 1; attempt <= SLACK_MAX_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const text = (await res.text()).slice(0, 200);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `Slack answered ${res.status}${text ? `: ${text}` : ''}`;
      if (res.status !== 429 && res.status < 500) return { ok: false, attempts: attempt, error };
    } catch (err) {
      error = `Slack could not be reached: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (attempt < SLACK_MAX_ATTEMPTS) await sleep(BACKOFF_MS[attempt - 1] ?? 1000);
  }
  return { ok: false, attempts: SLACK_MAX_ATTEMPTS, error };
}

/** Tells the org's Slack about a final status, if it has a webhook (`webhookUrl`, when the caller read it already). Never throws. */
export async function notifyRunEnded(env: Env, row: ExecutionRow, webhookUrl?: string | null): Promise<void> {
  try {
    const db = dbOf(env);
    const [org] =
      webhookUrl === undefined
        ? await db.select({ url: organizations.slackWebhookUrl }).from(organizations).where(eq(organizations.id, row.organizationId)).limit(1)
        : [{ url: webhookUrl }];
    if (!org?.url) return;
    const id = newId();
    if (!isSlackWebhookUrl(org.url)) {
      await db.insert(notifications).values({
        id,
        organizationId: row.organizationId,
        taskId: row.taskId,
        channel: 'slack',
        status: 'failed',
        error: 'Webhook is not an https://hooks.slack.com/services/ URL',
      });
      return;
    }
    const [project] = await db.select({ name: projects.name }).from(projects).where(eq(projects.id, row.projectId)).limit(1);
    const payload = slackMessage(row, project?.name ?? row.projectId, env.PUBLIC_URL);
    await db
      .insert(notifications)
      .values({ id, organizationId: row.organizationId, taskId: row.taskId, channel: 'slack', status: 'pending', payload: JSON.stringify(payload) });
    const result = await deliver(deliveryUrl(env, org.url), payload);
    await db
      .update(notifications)
      .set({ status: result.ok ? 'sent' : 'failed', attempts: result.attempts, error: result.error ?? null, updatedAt: Date.now() })
      .where(eq(notifications.id, id));
  } catch (err) {
    console.warn('Slack notification failed', row.taskId, String(err));
  }
}
