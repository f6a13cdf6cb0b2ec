// Schedules: validation with the parser's message, next run times in a time zone, and the cron
// handler starting a due schedule exactly once (twice-fired, overlapping and late triggers), and
// many due in the same minute started in parallel, each once, one failure stopping none of the rest.
import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inArray } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { dbOf } from '../../worker/bindings';
import { scheduled } from '../../worker/cron';
import { schedules } from '../../worker/db/schema';
import worker from '../../worker/index';
import { PLANS } from '../../worker/services/plans';
import { SCHEDULES_PER_STARTER, startSchedules } from '../../worker/services/scheduler';
import { addMember, api, createProject, poll, registerAgent, signup, type Org } from './helpers';

const fire = () => scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env);

/** Makes the schedule's next slot `agoMs` in the past, as if that minute had come. */
async function makeDue(id: string, agoMs = 1000) {
  const slot = Math.floor((Date.now() - agoMs) / 60_000) * 60_000;
  await env.DB.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?').bind(slot, id).run();
  return slot;
}

async function runsOf(org: Org, scheduleId: string) {
  const { results } = await env.DB.prepare(
    'SELECT task_id, trigger, schedule_id, status, environment, tests, base_url FROM executions WHERE organization_id = ? AND schedule_id = ?',
  )
    .bind(org.organizationId, scheduleId)
    .all<Record<string, any>>();
  return results;
}

async function createSchedule(org: Org, body: Record<string, unknown>) {
  const res = await api('POST', '/api/schedules', { token: org.token, body });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.data;
}

describe('schedule API', () => {
  it('creates a schedule with its next run times in its time zone, lists, updates, disables and deletes it', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const created = await createSchedule(org, {
      name: 'Nightly smoke',
      projectId: project.id,
      cron: '30 2 * * *',
      timezone: 'Asia/Kolkata',
      environment: 'production',
      folder: 'tests/smoke',
      baseUrl: 'https://shop.example.com',
      labels: { arch: 'arm64' },
    });
    expect(created).toMatchObject({ name: 'Nightly smoke', enabled: true, timezone: 'Asia/Kolkata', folder: 'tests/smoke', labels: { arch: 'arm64' } });
    // 02:30 in Kolkata (UTC+05:30) is 21:00 UTC, every day.
    expect(created.nextRuns).toHaveLength(5);
    for (const t of created.nextRuns) expect(new Date(t).toISOString().slice(11, 19)).toBe('21:00:00');
    expect(created.nextRuns[1] - created.nextRuns[0]).toBe(24 * 3600_000);
    expect(created.nextRunAt).toBe(created.nextRuns[0]);

    const list = await api('GET', '/api/schedules', { token: org.token });
    expect(list.json.data.map((s: any) => s.id)).toEqual([created.id]);

    const edited = await api('PATCH', `/api/schedules/${created.id}`, { token: org.token, body: { cron: '0 9 * * 1-5', timezone: 'UTC' } });
    expect(edited.status, JSON.stringify(edited.json)).toBe(200);
    for (const t of edited.json.data.nextRuns) {
      const d = new Date(t);
      expect(d.getUTCHours()).toBe(9);
      expect([1, 2, 3, 4, 5]).toContain(d.getUTCDay());
    }

    const disabled = await api('PATCH', `/api/schedules/${created.id}`, { token: org.token, body: { enabled: false } });
    expect(disabled.json.data).toMatchObject({ enabled: false, nextRunAt: null, nextRuns: [] });
    const enabled = await api('PATCH', `/api/schedules/${created.id}`, { token: org.token, body: { enabled: true } });
    expect(enabled.json.data.nextRunAt).toBeGreaterThan(Date.now());

    expect((await api('DELETE', `/api/schedules/${created.id}`, { token: org.token })).status).toBe(200);
    expect((await api('GET', `/api/schedules/${created.id}`, { token: org.token })).status).toBe(404);
  });

  it("refuses an invalid CRON expression with a 400 carrying the parser's message", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const bad = await api('POST', '/api/schedules', { token: org.token, body: { name: 'x', projectId: project.id, cron: '61 * * * *' } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('VALIDATION_ERROR');
    expect(bad.json.error).toContain('Invalid value for minute: 61');
    expect((bad.json.issues as Array<{ path: string[] }>)[0]!.path).toEqual(['cron']);

    const short = await api('POST', '/api/schedules', { token: org.token, body: { name: 'x', projectId: project.id, cron: '* * * *' } });
    expect(short.status).toBe(400);
    expect(short.json.error).toContain('expected 5 fields');

    const zone = await api('POST', '/api/schedules', {
      token: org.token,
      body: { name: 'x', projectId: project.id, cron: '* * * * *', timezone: 'Mars/Olympus' },
    });
    expect(zone.status).toBe(400);
    expect(zone.json.error).toContain('unknown time zone');

    const preview = await api('GET', `/api/schedules/next-runs?cron=${encodeURIComponent('*/15 * * * *')}&count=3`, { token: org.token });
    expect(preview.json.data.nextRuns).toHaveLength(3);
    for (const t of preview.json.data.nextRuns) expect(new Date(t).getUTCMinutes() % 15).toBe(0);
    const previewBad = await api('GET', `/api/schedules/next-runs?cron=${encodeURIComponent('* 25 * * *')}`, { token: org.token });
    expect(previewBad.status).toBe(400);
    expect(previewBad.json.error).toContain('hour');
  });

  it("lets viewers read but not change schedules, and hides another organization's", async () => {
    const org = await signup();
    const other = await signup();
    const viewer = await addMember(org, 'viewer');
    const project = await createProject(org.token);
    const s = await createSchedule(org, { name: 'n', projectId: project.id, cron: '@daily' });
    expect((await api('GET', `/api/schedules/${s.id}`, { token: viewer.token })).status).toBe(200);
    expect((await api('PATCH', `/api/schedules/${s.id}`, { token: viewer.token, body: { enabled: false } })).status).toBe(403);
    expect((await api('GET', `/api/schedules/${s.id}`, { token: other.token })).status).toBe(404);
    expect((await api('PATCH', `/api/schedules/${s.id}`, { token: other.token, body: { enabled: false } })).status).toBe(404);
    expect((await api('DELETE', `/api/schedules/${s.id}`, { token: other.token })).status).toBe(404);
    const otherProject = await createProject(other.token);
    expect((await api('POST', '/api/schedules', { token: org.token, body: { name: 'n', projectId: otherProject.id, cron: '@daily' } })).status).toBe(404);
  });
});

describe('cron handler', () => {
  it('starts a due schedule once, with trigger schedule, even when the trigger fires twice or overlaps', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const s = await createSchedule(org, {
      name: 'every minute',
      projectId: project.id,
      cron: '* * * * *',
      environment: 'qa',
      folder: 'tests/smoke',
      baseUrl: 'https://qa.example.com',
    });
    expect(await runsOf(org, s.id)).toHaveLength(0);
    const slot = await makeDue(s.id);

    await Promise.all([fire(), fire()]); // two overlapping invocations
    // and a repeat through the Worker's own scheduled entry point (wrangler.toml's cron trigger calls it)
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env);
    const runs = await runsOf(org, s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'schedule', environment: 'qa', base_url: 'https://qa.example.com' });
    expect(JSON.parse(runs[0]!.tests)).toEqual(['tests/smoke']);

    const after = (await api('GET', `/api/schedules/${s.id}`, { token: org.token })).json.data;
    expect(after.lastRunAt).toBe(slot);
    expect(after.nextRunAt).toBeGreaterThan(Date.now() - 1);

    // The run is a real queued job an agent receives.
    const job = await poll(agent, 2000);
    expect(job?.taskId).toBe(runs[0]!.task_id);
    const listed = await api('GET', `/api/executions/${runs[0]!.task_id}`, { token: org.token });
    expect(listed.json.data.trigger).toBe('schedule');
  });

  it('catches up a window missed during an outage once, and the next slot comes from now', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const s = await createSchedule(org, { name: 'every 5', projectId: project.id, cron: '*/5 * * * *' });
    await makeDue(s.id, 3 * 3600_000); // three hours (36 missed slots) ago
    await fire();
    await fire();
    expect(await runsOf(org, s.id)).toHaveLength(1);
    const after = (await api('GET', `/api/schedules/${s.id}`, { token: org.token })).json.data;
    expect(after.nextRunAt).toBeGreaterThan(Date.now() - 1);
    expect(after.nextRunAt - Date.now()).toBeLessThanOrEqual(5 * 60_000);
  });

  it('pauses a schedule whose project was deleted, recording why, instead of failing every minute', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const s = await createSchedule(org, { name: 'orphan', projectId: project.id, cron: '* * * * *' });
    expect((await api('DELETE', `/api/projects/${project.id}`, { token: org.token })).status).toBe(200);
    await makeDue(s.id);
    await fire();
    const after = (await api('GET', `/api/schedules/${s.id}`, { token: org.token })).json.data;
    expect(after).toMatchObject({ enabled: false, nextRunAt: null });
    const audit = await env.DB.prepare("SELECT details FROM audit_logs WHERE action = 'schedule.run_failed' AND target_id = ?")
      .bind(s.id)
      .first<{ details: string }>();
    expect(JSON.parse(audit!.details).error).toContain('Project not found');
  });

  it('does not start disabled schedules or schedules whose slot has not come', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const future = await createSchedule(org, { name: 'later', projectId: project.id, cron: '0 0 1 1 *' });
    const off = await createSchedule(org, { name: 'off', projectId: project.id, cron: '* * * * *', enabled: false });
    await makeDue(off.id);
    await fire();
    expect(await runsOf(org, future.id)).toHaveLength(0);
    expect(await runsOf(org, off.id)).toHaveLength(0);
  });
});

/** `count` copies of schedule `id` (ids `<id>-1`…), all due at the same slot with it; returns every id. */
async function cloneSchedules(id: string, count: number, slot: number): Promise<string[]> {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO schedules (id, organization_id, project_id, name, cron, timezone, enabled, next_run_at, created_by, created_at, updated_at)
     SELECT s.id || '-' || n.i, s.organization_id, s.project_id, s.name || ' ' || n.i, s.cron, s.timezone, 1, ?, s.created_by, s.created_at, s.updated_at
     FROM n, schedules s WHERE s.id = ?`,
  )
    .bind(count, slot, id)
    .run();
  return [id, ...Array.from({ length: count }, (_, i) => `${id}-${i + 1}`)];
}

/** An org on the enterprise plan (a million runs a month), with a project and a schedule on a project that is then deleted. */
async function busyOrg() {
  const org = await signup();
  await env.DB.prepare('UPDATE organizations SET plan = ?, limits = ? WHERE id = ?')
    .bind('enterprise', JSON.stringify(PLANS.enterprise.limits), org.organizationId)
    .run();
  const project = await createProject(org.token);
  const s = await createSchedule(org, { name: 'at :00', projectId: project.id, cron: '* * * * *' });
  const doomed = await createProject(org.token);
  const broken = await createSchedule(org, { name: 'project gone', projectId: doomed.id, cron: '* * * * *' });
  expect((await api('DELETE', `/api/projects/${doomed.id}`, { token: org.token })).status).toBe(200);
  return { org, scheduleId: s.id as string, brokenId: broken.id as string };
}

async function runCounts(org: Org): Promise<Map<string, number>> {
  const { results } = await env.DB.prepare('SELECT schedule_id AS id, count(*) AS n FROM executions WHERE organization_id = ? GROUP BY schedule_id')
    .bind(org.organizationId)
    .all<{ id: string; n: number }>();
  return new Map(results.map((r) => [r.id, r.n]));
}

describe('schedules due in the same minute', () => {
  it('start several at a time, and one that fails stops none of the others', async () => {
    const { org, scheduleId, brokenId } = await busyOrg();
    const slot = await makeDue(scheduleId);
    await makeDue(brokenId);
    const ids = await cloneSchedules(scheduleId, 29, slot);
    const rows = await dbOf(env)
      .select()
      .from(schedules)
      .where(inArray(schedules.id, [...ids.slice(0, 15), brokenId, ...ids.slice(15)]));
    // Counts the queue calls in flight at once: each start ends with one.
    let inFlight = 0;
    let maxInFlight = 0;
    const dispatcher = {
      idFromName: (name: string) => env.DISPATCHER.idFromName(name),
      get: (id: DurableObjectId) => {
        const real = env.DISPATCHER.get(id);
        return {
          enqueue: async (job: Parameters<typeof real.enqueue>[0]) => {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
            try {
              return await real.enqueue(job);
            } finally {
              inFlight--;
            }
          },
        };
      },
    };
    const result = await startSchedules({ ...env, DISPATCHER: dispatcher as never }, dbOf(env), rows, Date.now());
    expect(result.started).toHaveLength(30);
    expect(result.failed).toEqual([{ scheduleId: brokenId, error: expect.stringContaining('NOT_FOUND') }]);
    expect(maxInFlight).toBeGreaterThan(1);
    const counts = await runCounts(org);
    for (const id of ids) expect(counts.get(id), id).toBe(1);
    expect(counts.has(brokenId)).toBe(false);
  });

  it('all start once through the cron handler, handed out in batches, even when two ticks overlap', async () => {
    const { org, scheduleId, brokenId } = await busyOrg();
    const slot = await makeDue(scheduleId);
    await makeDue(brokenId);
    // More than two starters' worth: the tick hands out three batches.
    const ids = await cloneSchedules(scheduleId, 2 * SCHEDULES_PER_STARTER + 9, slot);
    await Promise.all([fire(), fire()]);
    const counts = await runCounts(org);
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect(counts.has(brokenId)).toBe(false);
    const paused = (await api('GET', `/api/schedules/${brokenId}`, { token: org.token })).json.data;
    expect(paused).toMatchObject({ enabled: false, nextRunAt: null });
    // Every one moved on to its next slot.
    const { results } = await env.DB.prepare('SELECT count(*) AS n FROM schedules WHERE organization_id = ? AND last_run_at = ? AND next_run_at > ?')
      .bind(org.organizationId, slot, slot)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(ids.length);
  }, 60_000); // 111 runs created on a machine shared with other suites
});
