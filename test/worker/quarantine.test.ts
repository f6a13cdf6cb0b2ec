// Quarantine: members park a flaky test (owner, reason, expiry); a run whose every failure is quarantined
// passes, a run with any other failure still fails; the reporter (API key) and the agent (its token) read
// the list in force; roles and tenants are enforced.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { addMember, agentApi, api, signup } from './helpers';
import { lab, recordRun } from './insights-helpers';

const DAY = 86_400_000;

describe('quarantine', () => {
  it('a quarantined failure no longer fails the run, any other failure still does, and expiry ends it', async () => {
    const l = await lab();
    const flaky = { title: 'uploads avatar', file: 'tests/profile.spec.ts' };
    const created = await api('POST', '/api/quarantines', {
      token: l.org.token,
      body: { projectId: l.project.id, ...flaky, owner: 'ada@example.com', reason: 'S3 mock races; JIRA-12', expiresAt: Date.now() + 7 * DAY },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.data).toMatchObject({ testKey: 'tests/profile.spec.ts › uploads avatar', owner: 'ada@example.com', expired: false });

    const onlyQuarantined = await recordRun(l, [
      { ...flaky, status: 'failed', error: 'upload timed out' },
      { title: 'edits name', file: 'tests/profile.spec.ts', status: 'passed' },
    ]);
    expect(onlyQuarantined.status).toBe('PASSED');
    const run = (await api('GET', `/api/executions/${onlyQuarantined.taskId}`, { token: l.org.token })).json.data;
    expect(run).toMatchObject({ status: 'PASSED', failed: 1 }); // still reported
    const log = (await api('GET', `/api/executions/${onlyQuarantined.taskId}/logs`, { token: l.org.token })).json.data.chunks.map((c: any) => c.data).join('');
    expect(log).toContain('quarantined, so the run passes: tests/profile.spec.ts › uploads avatar');

    const alsoReal = await recordRun(l, [
      { ...flaky, status: 'failed', error: 'upload timed out' },
      { title: 'edits name', file: 'tests/profile.spec.ts', status: 'failed', error: 'name not saved' },
    ]);
    expect(alsoReal.status).toBe('FAILED');

    // Same title in another file is another test: not covered.
    const otherFile = await recordRun(l, [{ title: 'uploads avatar', file: 'tests/admin.spec.ts', status: 'failed', error: 'x' }]);
    expect(otherFile.status).toBe('FAILED');

    // An expired quarantine does not apply (expiry moved into the past directly: the API only accepts future dates).
    await env.DB.prepare('UPDATE quarantines SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1000, created.json.data.id)
      .run();
    const afterExpiry = await recordRun(l, [{ ...flaky, status: 'failed', error: 'upload timed out' }]);
    expect(afterExpiry.status).toBe('FAILED');
    const listed = await api('GET', `/api/quarantines?projectId=${l.project.id}`, { token: l.org.token });
    expect(listed.json.data).toEqual([]);
    const history = await api('GET', `/api/quarantines?projectId=${l.project.id}&includeExpired=true`, { token: l.org.token });
    expect(history.json.data.map((q: any) => q.expired)).toEqual([true]);
  });

  it("lists by owner then expiry, for members, the reporter's API key and the agent", async () => {
    const l = await lab();
    const mk = (title: string, owner: string, days: number) =>
      api('POST', '/api/quarantines', {
        token: l.org.token,
        body: { projectId: l.project.id, title, owner, reason: 'flaky', expiresAt: Date.now() + days * DAY },
      });
    for (const [title, owner, days] of [
      ['t1', 'zoe', 3],
      ['t2', 'ada', 9],
      ['t3', 'ada', 2],
    ] as const)
      expect((await mk(title, owner, days)).status).toBe(201);
    const viewer = await addMember(l.org, 'viewer');
    const asViewer = await api('GET', '/api/quarantines', { token: viewer.token });
    expect(asViewer.json.data.map((q: any) => `${q.owner}:${q.title}`)).toEqual(['ada:t3', 'ada:t2', 'zoe:t1']);
    const asKey = await api('GET', `/api/quarantines?projectId=${l.project.id}`, { apiKey: l.apiKey });
    expect(asKey.status).toBe(200);
    expect(asKey.json.data).toHaveLength(3);
    const asAgent = await agentApi(l.agent, 'GET', `/api/agent/quarantines?projectId=${l.project.id}`);
    expect(asAgent.status, JSON.stringify(asAgent.json)).toBe(200);
    expect(asAgent.json.data.map((q: any) => q.testKey)).toEqual(['t1', 't2', 't3']);
    expect((await api('GET', `/api/agent/quarantines?projectId=${l.project.id}`)).status).toBe(401);
    expect((await agentApi(l.agent, 'GET', '/api/agent/quarantines')).status).toBe(400);
  });

  it('validates input, refuses duplicates (409) and viewers (403), and keeps orgs apart (404)', async () => {
    const l = await lab();
    const body = { projectId: l.project.id, title: 'pays', owner: 'ada', reason: 'flaky', expiresAt: Date.now() + DAY };
    expect((await api('POST', '/api/quarantines', { token: l.org.token, body })).status).toBe(201);
    const dup = await api('POST', '/api/quarantines', { token: l.org.token, body });
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe('ALREADY_QUARANTINED');

    const past = await api('POST', '/api/quarantines', { token: l.org.token, body: { ...body, title: 'other', expiresAt: Date.now() - 1 } });
    expect(past.status).toBe(400);
    expect(past.json.error).toMatch(/future/);
    const far = await api('POST', '/api/quarantines', { token: l.org.token, body: { ...body, title: 'other', expiresAt: Date.now() + 400 * DAY } });
    expect(far.status).toBe(400);
    expect((await api('POST', '/api/quarantines', { token: l.org.token, body: { ...body, owner: '' } })).status).toBe(400);

    const viewer = await addMember(l.org, 'viewer');
    expect((await api('POST', '/api/quarantines', { token: viewer.token, body: { ...body, title: 'v' } })).status).toBe(403);

    const stranger = await signup();
    expect((await api('POST', '/api/quarantines', { token: stranger.token, body: { ...body, title: 'x' } })).status).toBe(404);
    const [q] = (await api('GET', '/api/quarantines', { token: l.org.token })).json.data;
    expect((await api('DELETE', `/api/quarantines/${q.id}`, { token: stranger.token })).status).toBe(404);
    expect((await api('GET', '/api/quarantines', { token: stranger.token })).json.data).toEqual([]);

    const moved = await api('PATCH', `/api/quarantines/${q.id}`, { token: l.org.token, body: { owner: 'bob' } });
    expect(moved.json.data.owner).toBe('bob');
    expect((await api('DELETE', `/api/quarantines/${q.id}`, { token: l.org.token })).status).toBe(200);
    expect((await api('GET', '/api/quarantines', { token: l.org.token })).json.data).toEqual([]);
  });
});
