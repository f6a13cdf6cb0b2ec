// Who may hold a live WebSocket, and for how long: a socket opened with the session cookie must come
// from a trusted Origin (a WebSocket upgrade is not subject to CORS); logging out closes the sockets
// that session opened, and removing a member or changing their role closes all of theirs, in the
// org's hub and in every run room.
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { LIVE_ACCESS_ENDED } from '../../worker/contracts/live';
import { hubOf } from '../../worker/bindings';
import { addMember, api, createProject, openSocket, signup, wsTicket, type Org } from './helpers';

async function queuedRun(org: Org) {
  const project = await createProject(org.token);
  const run = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
  expect(run.status, JSON.stringify(run.json)).toBe(201);
  return run.json.data.taskId as string;
}

/** The member's live list and one run's room, both opened with tickets of `member`'s session. */
async function liveSockets(member: Org, taskId: string) {
  const list = await openSocket(`/api/live?ticket=${await wsTicket(member.token)}`);
  const room = await openSocket(`/api/executions/${taskId}/live?ticket=${await wsTicket(member.token, taskId)}`);
  if (list.status !== 101 || room.status !== 101) throw new Error(`sockets not opened: ${list.status} ${room.status}`);
  return [list, room] as const;
}

const roomSessions = (organizationId: string) =>
  runInDurableObject(hubOf(env, organizationId), (_hub, state) =>
    state.storage.sql.exec<{ session_id: string; task_id: string }>('SELECT session_id, task_id FROM room_sessions').toArray(),
  );

describe('live sockets opened with the session cookie', () => {
  it('need an Origin of the dashboard (PUBLIC_URL) or CORS_ORIGINS; tickets and bearer tokens need none', async () => {
    const org = await signup();
    const taskId = await queuedRun(org);
    const cookie = `agnox_session=${org.token}`;
    for (const path of ['/api/live', `/api/executions/${taskId}/live`]) {
      for (const origin of [undefined, 'https://evil.example', 'null', 'http://localhost:8787.evil.example']) {
        const refused = await openSocket(path, { cookie, ...(origin ? { origin } : {}) });
        expect(refused.status, `${path} ${origin}`).toBe(403);
        expect(refused.status === 101 ? {} : JSON.parse(refused.body), `${path} ${origin}`).toMatchObject({ success: false, code: 'ORIGIN_NOT_ALLOWED' });
      }
      for (const origin of [new URL(env.PUBLIC_URL).origin, 'http://localhost:5173']) {
        expect((await openSocket(path, { cookie, origin })).status, `${path} ${origin}`).toBe(101);
      }
      expect((await openSocket(path, { authorization: `Bearer ${org.token}` })).status, path).toBe(101);
    }
    expect((await openSocket(`/api/live?ticket=${await wsTicket(org.token)}`)).status).toBe(101);
    expect((await openSocket(`/api/executions/${taskId}/live?ticket=${await wsTicket(org.token, taskId)}`)).status).toBe(101);
  });
});

describe('live sockets end with their access', () => {
  it('logging out closes the sockets that session opened (list and run room), not those of another session', async () => {
    const org = await signup();
    const taskId = await queuedRun(org);
    const [list, room] = await liveSockets(org, taskId);
    const byCookie = await openSocket('/api/live', { cookie: `agnox_session=${org.token}`, origin: env.PUBLIC_URL });
    const other = await api('POST', '/api/auth/login', { body: { email: org.email, password: 'correct-horse-42' } });
    const [otherList, otherRoom] = await liveSockets({ ...org, token: other.json.data.token }, taskId);
    let otherClosed = false;
    void otherList.closed.then(() => {
      otherClosed = true;
    });
    void otherRoom.closed.then(() => {
      otherClosed = true;
    });
    expect(byCookie.status).toBe(101);

    expect((await api('POST', '/api/auth/logout', { token: org.token })).status).toBe(200);
    for (const s of [list, room, byCookie]) expect(await (s as typeof list).closed).toMatchObject({ code: LIVE_ACCESS_ENDED, reason: 'logged out' });
    expect(otherClosed).toBe(false);
    // The hub no longer lists the ended session's room; the other session's stays.
    const sid = (token: string) => JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).jti;
    expect(await roomSessions(org.organizationId)).toEqual([{ session_id: sid(other.json.data.token), task_id: taskId }]);
  });

  it('removing a member closes all their sockets', async () => {
    const admin = await signup();
    const taskId = await queuedRun(admin);
    const dev = await addMember(admin, 'developer');
    const sockets = await liveSockets(dev, taskId);
    expect((await api('DELETE', `/api/users/${dev.userId}`, { token: admin.token })).status).toBe(200);
    for (const s of sockets) expect(await s.closed).toMatchObject({ code: LIVE_ACCESS_ENDED, reason: 'removed from the organization' });
  });

  it("changing a member's role closes all their sockets; new ones open under the new role", async () => {
    const admin = await signup();
    const taskId = await queuedRun(admin);
    const dev = await addMember(admin, 'developer');
    const sockets = await liveSockets(dev, taskId);
    const adminSockets = await liveSockets(admin, taskId);
    let adminClosed = false;
    for (const s of adminSockets)
      void s.closed.then(() => {
        adminClosed = true;
      });
    expect((await api('PATCH', `/api/users/${dev.userId}`, { token: admin.token, body: { role: 'viewer' } })).status).toBe(200);
    for (const s of sockets) expect(await s.closed).toMatchObject({ code: LIVE_ACCESS_ENDED, reason: 'role changed' });
    expect(adminClosed).toBe(false);
    const again = await liveSockets(dev, taskId);
    expect(again.map((s) => s.status)).toEqual([101, 101]);
  });

  it("the hub forgets a room for a session once that session's sockets there close", async () => {
    const org = await signup();
    const taskId = await queuedRun(org);
    const [, room] = await liveSockets(org, taskId);
    expect(await roomSessions(org.organizationId)).toHaveLength(1);
    room.ws.close(1000, 'viewer left');
    await room.closed;
    // The room reports the close to the hub on its own: wait for that call, not a fixed time.
    for (let i = 0; i < 50 && (await roomSessions(org.organizationId)).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await roomSessions(org.organizationId)).toEqual([]);
  });
});

describe('tickets', () => {
  it('are admitted once by the org hub, not D1: a second use is refused, and nothing is written to revoked_tokens', async () => {
    const org = await signup();
    const taskId = await queuedRun(org);
    const revokedRows = async () => (await env.DB.prepare('SELECT count(*) AS n FROM revoked_tokens').first<{ n: number }>())!.n;
    const before = await revokedRows();
    for (const path of ['/api/live', `/api/executions/${taskId}/live`]) {
      const ticket = await wsTicket(org.token, path === '/api/live' ? undefined : taskId);
      const first = await openSocket(`${path}?ticket=${ticket}`);
      expect(first.status, path).toBe(101);
      const again = await openSocket(`${path}?ticket=${ticket}`);
      expect(again.status, path).toBe(401);
      expect(again.status === 101 ? '' : again.body, path).toContain('already used');
    }
    expect(await revokedRows()).toBe(before);
    const used = await runInDurableObject(hubOf(env, org.organizationId), (_hub, state) =>
      state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM used_tickets').one(),
    );
    expect(used.n).toBe(2);
  });

  it("lets the run's room turn away a viewer of another org's run, even one holding a valid session (404, as the API does)", async () => {
    const [a, b] = [await signup(), await signup()];
    const taskId = await queuedRun(a);
    const refused = await openSocket(`/api/executions/${taskId}/live`, { authorization: `Bearer ${b.token}` });
    expect(refused.status).toBe(404);
    expect(refused.status === 101 ? '' : refused.body).toContain('Execution not found');
    expect((await openSocket(`/api/executions/${taskId}/live`, { authorization: `Bearer ${a.token}` })).status).toBe(101);
  });
});
