// D1 briefly unavailable (locked, overloaded): the API answers 503 DATABASE_UNAVAILABLE with
// Retry-After instead of a generic 500, and an agent's result survives it: the lease is released
// only once the result is stored, so the agent's retry completes the run. (Found by `npm run faults
// -- d1-errors`: the result was lost and the run stayed RUNNING forever.)
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import { agentApi, api, createProject, poll, registerAgent, signup } from './helpers';

const LOCKED = 'D1_ERROR: database is locked: SQLITE_BUSY';
const isWrite = (sql: string) => /^\s*(insert|update|delete|replace)\b/i.test(sql);

/** A statement whose execution fails as D1 does when it cannot write. */
function failing(stmt: D1PreparedStatement, message: string): D1PreparedStatement {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === 'bind') return (...args: unknown[]) => failing(target.bind(...args), message);
      if (prop === 'run' || prop === 'all' || prop === 'first' || prop === 'raw')
        return async () => {
          throw new Error(message);
        };
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** env.DB whose writes (statements and batches) fail with `message`; reads work. So do the read-replication sessions made of it. */
function writesFail<D extends D1Database | D1DatabaseSession>(db: D, message = LOCKED): D {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => (isWrite(sql) ? failing(target.prepare(sql), message) : target.prepare(sql));
      if (prop === 'batch')
        return async () => {
          throw new Error(message);
        };
      if (prop === 'withSession') return (constraint?: string) => writesFail((target as D1Database).withSession(constraint), message);
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Calls the app with env.DB replaced. */
async function callWith(db: D1Database, method: string, path: string, opts: { token?: string; agentToken?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'cf-connecting-ip': `10.77.${Math.floor(Math.random() * 250)}.1`, 'content-type': 'application/json' };
  if (opts.token ?? opts.agentToken) headers.authorization = `Bearer ${opts.token ?? opts.agentToken}`;
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://agnox.test${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) }),
    { ...env, DB: db },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

describe('D1 unavailable', () => {
  it('a write answers 503 DATABASE_UNAVAILABLE with Retry-After', async () => {
    const org = await signup();
    const res = await callWith(writesFail(env.DB), 'POST', '/api/projects', { token: org.token, body: { name: 'p', image: 'busybox', command: 'true' } });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ success: false, code: 'DATABASE_UNAVAILABLE' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('an error that is not about availability (a constraint) stays a 500 INTERNAL', async () => {
    const org = await signup();
    const res = await callWith(writesFail(env.DB, 'D1_ERROR: UNIQUE constraint failed: projects.id: SQLITE_CONSTRAINT'), 'POST', '/api/projects', {
      token: org.token,
      body: { name: 'p', image: 'busybox', command: 'true' },
    });
    expect(res.status).toBe(500);
    expect(res.json.code).toBe('INTERNAL');
  });

  it("an agent's complete that meets it answers 503 and keeps the lease; the retry finishes the run", async () => {
    const org = await signup();
    const agent = await registerAgent(org);
    const project = await createProject(org.token);
    const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    const taskId = req.json.data.taskId as string;
    expect((await poll(agent))?.taskId).toBe(taskId);
    const result = { status: 'PASSED', exitCode: 0, reason: 'exit', tests: [{ testId: 't1', title: 't1', status: 'passed', durationMs: 3 }] };

    const first = await callWith(writesFail(env.DB), 'POST', `/api/agent/jobs/${taskId}/complete`, { agentToken: agent.token, body: result });
    expect(first.status).toBe(503);
    expect(first.json.code).toBe('DATABASE_UNAVAILABLE');
    // The lease is still the agent's: heartbeats go on, and the retry is accepted.
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(200);
    const retry = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, result);
    expect(retry.status, JSON.stringify(retry.json)).toBe(200);
    const run = (await api('GET', `/api/executions/${taskId}`, { token: org.token })).json.data;
    expect(run).toMatchObject({ status: 'PASSED', totalTests: 1, passed: 1 });
    // Done means done: the lease is gone (heartbeats are refused), and a repeated complete only gets the same answer.
    expect((await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/heartbeat`, {})).status).toBe(404);
    const again = await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, result);
    expect(again.json.data).toMatchObject({ taskId, status: 'PASSED' });
  });
});
