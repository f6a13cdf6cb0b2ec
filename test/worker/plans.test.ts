// Plan limits: runs per month (402) and concurrent runs (429 with Retry-After) refuse a run, from
// every path that starts one; members refuse an invitation; the usage endpoint counts.
import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { scheduled } from '../../worker/cron';
import { api, createApiKey, createProject, signup, type Org } from './helpers';

async function setLimits(org: Org, limits: Partial<{ maxMembers: number; maxConcurrentRuns: number; runsPerMonth: number; retentionDays: number }>) {
  const row = await env.DB.prepare('SELECT limits FROM organizations WHERE id = ?').bind(org.organizationId).first<{ limits: string }>();
  await env.DB.prepare('UPDATE organizations SET limits = ? WHERE id = ?')
    .bind(JSON.stringify({ ...JSON.parse(row!.limits), ...limits }), org.organizationId)
    .run();
}

const requestRun = (org: Org, projectId: string, queue: 'org' | 'hosted' = 'org') =>
  api('POST', '/api/execution-request', { token: org.token, body: { projectId, queue } });

describe('plan limits', () => {
  it("refuses a run past the month's runs with 402 PLAN_LIMIT, for members, CI and schedules alike", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    await setLimits(org, { runsPerMonth: 2, maxConcurrentRuns: 100 });
    expect((await requestRun(org, project.id)).status).toBe(201);
    expect((await requestRun(org, project.id)).status).toBe(201);
    const refused = await requestRun(org, project.id);
    expect(refused.status).toBe(402);
    expect(refused.json).toMatchObject({ success: false, code: 'PLAN_LIMIT', limit: 'runsPerMonth', allowed: 2, used: 2 });
    expect(refused.json.error).toContain('2 runs a month');

    const apiKey = await createApiKey(org);
    const ci = await api('POST', '/api/ci/trigger', { apiKey, body: { projectId: project.id } });
    expect(ci.status).toBe(402);

    const s = await api('POST', '/api/schedules', { token: org.token, body: { name: 's', projectId: project.id, cron: '* * * * *' } });
    await env.DB.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?')
      .bind(Date.now() - 1000, s.json.data.id)
      .run();
    await scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env);
    const scheduledRuns = await env.DB.prepare('SELECT count(*) AS n FROM executions WHERE schedule_id = ?').bind(s.json.data.id).first<{ n: number }>();
    expect(scheduledRuns!.n).toBe(0);
    const audit = await env.DB.prepare("SELECT details FROM audit_logs WHERE action = 'schedule.run_failed' AND target_id = ?")
      .bind(s.json.data.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details).error).toContain('PLAN_LIMIT');

    const usage = await api('GET', '/api/usage', { token: org.token });
    expect(usage.json.data.usage).toMatchObject({ runsThisPeriod: 2, concurrentRuns: 0, selfHostedActiveRuns: 2, members: 1 });
  });

  it("counts the month's runs as they are created: deleting runs does not give them back (a counter, not a COUNT)", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    await setLimits(org, { runsPerMonth: 2, maxConcurrentRuns: 100 });
    const taskIds: string[] = [];
    for (let i = 0; i < 2; i++) taskIds.push((await requestRun(org, project.id)).json.data.taskId);
    expect((await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'cancel', taskIds } })).status).toBe(200);
    const deleted = await api('POST', '/api/executions/bulk', { token: org.token, body: { action: 'delete', taskIds } });
    expect(deleted.json.data.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM executions WHERE organization_id = ?').bind(org.organizationId).first('n')).toBe(0);
    const refused = await requestRun(org, project.id);
    expect(refused.status).toBe(402);
    expect(refused.json).toMatchObject({ code: 'PLAN_LIMIT', used: 2 });
    expect((await api('GET', '/api/usage', { token: org.token })).json.data.usage.runsThisPeriod).toBe(2);
  });

  it("migration 0008 carries each org's runs of this month so far into the counter, and only platform runs of this month", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    for (let i = 0; i < 3; i++) expect((await requestRun(org, project.id)).status).toBe(201);
    // One run from last month, and the counter as it was before the migration: empty.
    await env.DB.prepare('UPDATE executions SET created_at = ? WHERE task_id = (SELECT task_id FROM executions WHERE organization_id = ? LIMIT 1)')
      .bind(Date.now() - 40 * 86_400_000, org.organizationId)
      .run();
    await env.DB.prepare('DELETE FROM org_usage').run();
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0008_'))!;
    await env.DB.prepare(migration.queries.at(-1)!).run();
    expect((await api('GET', '/api/usage', { token: org.token })).json.data.usage.runsThisPeriod).toBe(2);
  });

  it('refuses a hosted run past the concurrent runs with 429 CONCURRENCY_LIMIT and Retry-After, and allows it again once one ends', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    await setLimits(org, { maxConcurrentRuns: 1 });
    const first = await requestRun(org, project.id, 'hosted');
    expect(first.status).toBe(201);
    const refused = await requestRun(org, project.id, 'hosted');
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ code: 'CONCURRENCY_LIMIT', limit: 'maxConcurrentRuns', allowed: 1, used: 1 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The org's own agents are its own capacity: not limited by the plan's concurrency.
    expect((await requestRun(org, project.id, 'org')).status).toBe(201);
    expect((await requestRun(org, project.id, 'org')).status).toBe(201);
    expect((await api('POST', `/api/executions/${first.json.data.taskId}/cancel`, { token: org.token })).status).toBe(200);
    expect((await requestRun(org, project.id, 'hosted')).status).toBe(201);
    const usage = await api('GET', '/api/usage', { token: org.token });
    expect(usage.json.data.usage).toMatchObject({ runsThisPeriod: 4, concurrentRuns: 1, selfHostedActiveRuns: 2 });
  });

  it('refuses an invitation past the member limit with 402 PLAN_LIMIT', async () => {
    const org = await signup();
    await setLimits(org, { maxMembers: 1 });
    const res = await api('POST', '/api/invitations', { token: org.token, body: { email: `x-${crypto.randomUUID()}@example.com`, role: 'viewer' } });
    expect(res.status).toBe(402);
    expect(res.json.code).toBe('PLAN_LIMIT');
  });

  it('counts pending invitations as seats, and frees the seat when one is revoked', async () => {
    const org = await signup();
    await setLimits(org, { maxMembers: 2 });
    const invite = (email: string) => api('POST', '/api/invitations', { token: org.token, body: { email, role: 'viewer' } });
    const first = await invite(`a-${crypto.randomUUID()}@example.com`);
    expect(first.status).toBe(201);
    const second = await invite(`b-${crypto.randomUUID()}@example.com`);
    expect(second.status).toBe(402);
    expect(second.json).toMatchObject({ code: 'PLAN_LIMIT', limit: 'maxMembers', allowed: 2, used: 2 });
    expect(second.json.error).toContain('1 pending invitation');
    expect((await api('DELETE', `/api/invitations/${first.json.data.id}`, { token: org.token })).status).toBe(200);
    expect((await invite(`c-${crypto.randomUUID()}@example.com`)).status).toBe(201);
  });

  it('lists the plan catalogue', async () => {
    const org = await signup();
    const plans = await api('GET', '/api/billing/plans', { token: org.token });
    expect(plans.json.data.map((p: any) => p.name)).toEqual(['free', 'team', 'enterprise']);
    for (const p of plans.json.data) expect(p.limits.runsPerMonth).toBeGreaterThan(0);
  });
});
