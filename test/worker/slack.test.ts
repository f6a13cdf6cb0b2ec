// Slack: on a final status the org's incoming webhook gets status, project, counts, duration, the AI
// summary and a link; delivery retries a bounded number of times, is recorded, and never holds a run.
// The webhook's https://hooks.slack.com origin is redirected to the local fake (SLACK_WEBHOOK_ORIGIN).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { executions } from '../../worker/db/schema';
import { dbOf } from '../../worker/bindings';
import { notifyRunEnded } from '../../worker/services/slack';
import { fakeGemini } from '../support/fake-gemini';
import { fakeSlack } from '../support/fake-slack';
import { api } from './helpers';
import { lab, recordRun, type Lab } from './insights-helpers';

const slack = fakeSlack(env.SLACK_WEBHOOK_ORIGIN!);

async function withWebhook(l: Lab) {
  const hook = `B${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const url = `https://hooks.slack.com/services/T0001/${hook}/xyzSECRETtoken`;
  const res = await api('PATCH', '/api/organization', { token: l.org.token, body: { slackWebhookUrl: url } });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return hook;
}

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last: ${JSON.stringify(v).slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const notificationsOf = async (taskId: string) =>
  (await env.DB.prepare('SELECT status, attempts, error, channel FROM notifications WHERE task_id = ?').bind(taskId).all()).results as any[];

describe('Slack notifications', () => {
  it('posts status, project, counts, duration and a link when a run passes, and records the delivery', async () => {
    const l = await lab();
    const hook = await withWebhook(l);
    const run = await recordRun(
      l,
      [
        { title: 'a', status: 'passed' },
        { title: 'b', status: 'passed' },
        { title: 'c', status: 'skipped' },
      ],
      { durationMs: 83_000 },
    );
    const [req, ...more] = await waitFor(
      () => slack.requests(hook),
      (r) => r.length > 0,
    );
    expect(more).toHaveLength(0);
    expect(req!.path).toBe(`/services/T0001/${hook}/xyzSECRETtoken`);
    expect(req!.contentType).toBe('application/json');
    const payload = JSON.parse(req!.body);
    const link = `${env.PUBLIC_URL}/executions/${run.taskId}`;
    expect(payload.text).toBe(`:white_check_mark: ${l.project.name}: run PASSED — 2 passed, 0 failed, 0 flaky, 1 skipped (3 tests) — ${link}`);
    expect(payload.blocks[1].fields.map((f: any) => f.text)).toEqual([
      '*Status*\nPASSED',
      `*Project*\n${l.project.name}`,
      '*Tests*\n2 passed, 0 failed, 0 flaky, 1 skipped (3 tests)',
      '*Duration*\n1m 23s',
    ]);
    expect(payload.blocks.at(-1).elements[0].url).toBe(link);
    await waitFor(
      () => notificationsOf(run.taskId),
      (n) => n[0]?.status === 'sent',
    );
    expect(await notificationsOf(run.taskId)).toEqual([{ status: 'sent', attempts: 1, error: null, channel: 'slack' }]);
  });

  it('carries the AI summary of a failed run, sent after the analysis', async () => {
    const l = await lab();
    const hook = await withWebhook(l);
    await fakeGemini(env.GEMINI_BASE_URL!).script(l.project.name, {
      kind: 'json',
      value: {
        summary: 'The payment sandbox rejected the card.',
        likelyCause: 'Expired sandbox key',
        category: 'environment',
        suggestedFix: 'Rotate the key',
        confidence: 0.7,
      },
    });
    env.GEMINI_API_KEY = 'slack-test-key';
    try {
      const run = await recordRun(l, [{ title: 'pays', status: 'failed', error: 'card declined' }]);
      expect(run.status).toBe('ANALYZING');
      const [req] = await waitFor(
        () => slack.requests(hook),
        (r) => r.length > 0,
      );
      const payload = JSON.parse(req!.body);
      expect(payload.text).toContain(`:x: ${l.project.name}: run FAILED`);
      expect(payload.blocks[2].text.text).toBe('*AI analysis* (environment, confidence 70%)\nThe payment sandbox rejected the card.');
    } finally {
      delete env.GEMINI_API_KEY;
    }
  });

  it('retries a 500 and gets through; gives up after 3 attempts and records why; never holds the run', async () => {
    const l = await lab();
    const hook = await withWebhook(l);
    await slack.script(hook, { status: 500, body: 'internal_error', times: 2 });
    const run = await recordRun(l, [{ title: 'a', status: 'passed' }]);
    expect(run.status).toBe('PASSED'); // the agent's complete answered before Slack was done
    await waitFor(
      () => notificationsOf(run.taskId),
      (n) => n[0]?.status === 'sent',
    );
    expect((await notificationsOf(run.taskId))[0]).toMatchObject({ status: 'sent', attempts: 3 });
    expect(await slack.requests(hook)).toHaveLength(3);

    const l2 = await lab();
    const hook2 = await withWebhook(l2);
    await slack.script(hook2, { status: 503, body: 'service_unavailable' });
    const run2 = await recordRun(l2, [{ title: 'a', status: 'failed', error: 'x' }]);
    expect(run2.status).toBe('FAILED');
    await waitFor(
      () => notificationsOf(run2.taskId),
      (n) => n[0]?.status === 'failed',
    );
    expect((await notificationsOf(run2.taskId))[0]).toMatchObject({ status: 'failed', attempts: 3, error: 'Slack answered 503: service_unavailable' });
    expect(await slack.requests(hook2)).toHaveLength(3);
  });

  it('does not retry a hook Slack says is gone (404)', async () => {
    const l = await lab();
    const hook = await withWebhook(l);
    await slack.script(hook, { status: 404, body: 'no_service' });
    const run = await recordRun(l, [{ title: 'a', status: 'passed' }]);
    await waitFor(
      () => notificationsOf(run.taskId),
      (n) => n[0]?.status === 'failed',
    );
    expect((await notificationsOf(run.taskId))[0]).toMatchObject({ attempts: 1, error: 'Slack answered 404: no_service' });
  });

  it('hears of a PENDING run cancelled from the dashboard like any other final status (every end goes through endRun)', async () => {
    const l = await lab();
    const hook = await withWebhook(l);
    const run = await api('POST', '/api/execution-request', { token: l.org.token, body: { projectId: l.project.id } });
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    const cancelled = await api('POST', `/api/executions/${run.json.data.taskId}/cancel`, { token: l.org.token });
    expect(cancelled.json.data).toEqual({ status: 'CANCELLED', cancelled: 'now' });
    const [req] = await waitFor(
      () => slack.requests(hook),
      (r) => r.length > 0,
    );
    expect(JSON.parse(req!.body).text).toContain(`${l.project.name}: run CANCELLED`);
    await waitFor(
      () => notificationsOf(run.json.data.taskId),
      (n) => n[0]?.status === 'sent',
    );
  });

  it('accepts only https://hooks.slack.com webhooks, and sends nothing without one', async () => {
    const l = await lab();
    for (const url of [
      'http://hooks.slack.com/services/T/B/x',
      'https://evil.example.com/services/T/B/x',
      'https://hooks.slack.com.evil.com/services/T/B/x',
      'not a url',
    ]) {
      const res = await api('PATCH', '/api/organization', { token: l.org.token, body: { slackWebhookUrl: url } });
      expect(res.status, url).toBe(400);
    }
    const run = await recordRun(l, [{ title: 'a', status: 'passed' }]);
    // Awaited directly (the run's own send runs in the background): with no webhook nothing is sent or recorded.
    const [stored] = await dbOf(env).select().from(executions).where(eq(executions.taskId, run.taskId));
    await notifyRunEnded(env, stored!);
    expect(await notificationsOf(run.taskId)).toEqual([]);
  });
});
