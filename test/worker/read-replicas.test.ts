// D1 read replication (middleware/d1-session.ts): the API answers with the session's bookmark, takes it
// back to read at least that fresh, refuses a malformed one, and leaves the machine paths on the binding.
import { describe, expect, it } from 'vitest';
import { BOOKMARK_HEADER } from '../../worker/middleware/d1-session';
import { agentApi, api, createProject, registerAgent, signup } from './helpers';

describe('D1 sessions', () => {
  it('answer with a bookmark that moves forward with each write, and read back a write made under it', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const listed = await api('GET', '/api/executions', { token: org.token });
    const first = listed.headers.get(BOOKMARK_HEADER);
    expect(first).toMatch(/^[\w.:-]+$/);
    const created = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id }, headers: { [BOOKMARK_HEADER]: first! } });
    expect(created.status).toBe(201);
    const afterWrite = created.headers.get(BOOKMARK_HEADER)!;
    expect(afterWrite > first!).toBe(true); // D1's bookmarks order as strings
    const again = await api('GET', '/api/executions', { token: org.token, headers: { [BOOKMARK_HEADER]: afterWrite } });
    expect(again.json.data.items.map((r: { taskId: string }) => r.taskId)).toContain(created.json.data.taskId);
    expect(again.headers.get(BOOKMARK_HEADER)! >= afterWrite).toBe(true);
  });

  it('refuse a malformed bookmark with 400 INVALID_BOOKMARK', async () => {
    const org = await signup();
    const res = await api('GET', '/api/executions', { token: org.token, headers: { [BOOKMARK_HEADER]: 'not a bookmark; DROP TABLE' } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ success: false, code: 'INVALID_BOOKMARK' });
  });

  it('leave a request without a bookmark outside the list and insight reads on the primary (plain binding): no bookmark handed out', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const created = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    expect(created.status).toBe(201);
    expect(created.headers.get(BOOKMARK_HEADER)).toBeNull();
    const read = await api('GET', `/api/executions/${created.json.data.taskId}`, { token: org.token });
    expect(read.status).toBe(200);
    expect(read.headers.get(BOOKMARK_HEADER)).toBeNull();
  });

  it('leave the agent protocol on the plain binding: no bookmark there', async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const res = await agentApi(agent, 'POST', '/api/agent/poll', { capacity: 1, waitMs: 0 });
    expect(res.status).toBe(204);
    expect(res.headers.get(BOOKMARK_HEADER)).toBeNull();
  });
});
