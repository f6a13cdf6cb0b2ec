// Dispatch latency is a sum of round trips: a run request's answer (and the waiting agent's) waits for
// every D1 query, Durable Object call and rate-limit check the request awaits one after another. These
// tests count that chain on the real Worker, with the bindings wrapped to time each call, so a new
// serial await on the dispatch path shows up here and not only in the bench (bench/active-runs.ts).
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import type { Env } from '../../worker/env';
import { agentApi, api, createProject, poll, registerAgent, signup } from './helpers';

/**
 * Records the binding calls of one request. A call's depth is one more than the deepest call that had
 * ended when it began: calls made together share a depth, and the largest depth is the number of
 * round trips the request made in sequence.
 */
function tracer() {
  let ended = 0;
  const calls: { name: string; depth: number }[] = [];
  async function timed<T>(name: string, call: () => Promise<T>): Promise<T> {
    const depth = ended + 1;
    calls.push({ name, depth });
    try {
      return await call();
    } finally {
      ended = Math.max(ended, depth);
    }
  }
  return { calls, timed, depth: () => Math.max(0, ...calls.map((c) => c.depth)) };
}

/** env with D1, the Durable Object namespaces and the org rate limiter timed by `t`. */
function traced(t: ReturnType<typeof tracer>): Env {
  const statements = new WeakMap<object, D1PreparedStatement>();
  const statement = (sql: string, stmt: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') return (...args: unknown[]) => statement(sql, target.bind(...args));
        if (prop === 'run' || prop === 'all' || prop === 'first' || prop === 'raw') {
          return (...args: unknown[]) => t.timed(`D1 ${sql.slice(0, 40)}`, () => (target[prop] as (...a: unknown[]) => Promise<unknown>)(...args));
        }
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    statements.set(wrapped, stmt);
    return wrapped;
  };
  // The binding, and the read-replication sessions the API makes of it (middleware/d1-session.ts), timed alike.
  const timedD1 = <D extends D1Database | D1DatabaseSession>(d1: D): D =>
    new Proxy(d1, {
      get(target, prop) {
        if (prop === 'prepare') return (sql: string) => statement(sql, target.prepare(sql));
        // The binding needs its own statement objects.
        if (prop === 'batch')
          return (list: D1PreparedStatement[]) => t.timed(`D1 batch of ${list.length}`, () => target.batch(list.map((s) => statements.get(s) ?? s)));
        if (prop === 'withSession') return (constraint?: string) => timedD1((target as D1Database).withSession(constraint));
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const DB = timedD1(env.DB);
  const namespace = <N>(label: string, ns: N): N =>
    new Proxy(ns as unknown as DurableObjectNamespace, {
      get(target, prop) {
        if (prop !== 'get') {
          const value = Reflect.get(target, prop);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (id: DurableObjectId) => {
          const stub = (target as { get(id: DurableObjectId): unknown }).get(id) as Record<string, (...a: unknown[]) => Promise<unknown>>;
          return new Proxy(
            {},
            {
              get:
                (_, method: string) =>
                (...args: unknown[]) =>
                  t.timed(`${label}.${method}`, () => stub[method]!(...args)),
            },
          );
        };
      },
    }) as unknown as N;
  const limiter = (label: string, rl: RateLimit): RateLimit => ({ limit: (opts) => t.timed(label, () => rl.limit(opts)) });
  return {
    ...env,
    DB,
    DISPATCHER: namespace('Dispatcher', env.DISPATCHER),
    EXECUTION_ROOM: namespace('ExecutionRoom', env.EXECUTION_ROOM),
    ORG_HUB: namespace('OrgHub', env.ORG_HUB),
    ORG_API_LIMITER: limiter('ORG_API_LIMITER', env.ORG_API_LIMITER),
  };
}

async function call(e: Env, method: string, path: string, token: string, body: unknown) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://agnox.test${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'cf-connecting-ip': '10.99.0.1' },
      body: JSON.stringify(body),
    }),
    e,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, json: (await res.json()) as any };
}

describe('the dispatch path', () => {
  it("a run request makes three round trips in sequence: the caller, the rate limit and the run's reads together, the insert, then queue, room and dashboards together", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const t = tracer();
    const res = await call(traced(t), 'POST', '/api/execution-request', org.token, { projectId: project.id });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const at = (name: string) => t.calls.filter((c) => c.name.startsWith(name)).map((c) => c.depth);
    expect(t.depth(), JSON.stringify(t.calls)).toBe(3);
    // The session lookup, and the plan's allowance (the org row and this month's run counter)…
    expect(at('D1 batch of 2').slice(0, 2)).toEqual([1, 1]);
    expect(at('D1 select "project')).toEqual([1]); // …alongside the project read
    expect(at('ORG_API_LIMITER')).toEqual([1]); // …and the org's rate limit, named by the signed token
    expect(at('D1 batch of 2').slice(2)).toEqual([2]); // the run's insert with its count toward the month
    expect([...at('Dispatcher.enqueue'), ...at('ExecutionRoom.init'), ...at('OrgHub.publish')]).toEqual([3, 3, 3]);
  });

  it('a waiting poll, once the dispatcher hands it the job, makes two more: the RUNNING write with the secrets read, then room and dashboards', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    const t = tracer();
    const res = await call(traced(t), 'POST', '/api/agent/poll', agent.token, { capacity: 1, waitMs: 0 });
    expect(res.json.data.job.taskId).toBe(req.json.data.taskId);
    const [claim] = t.calls.filter((c) => c.name === 'Dispatcher.poll').map((c) => c.depth);
    const after = t.calls
      .filter((c) => c.depth > claim!)
      .map((c) => `${c.depth - claim!} ${c.name.split(' ').slice(0, 2).join(' ')}`)
      .sort();
    expect(after).toEqual(['1 D1 select', '1 D1 update', '2 ExecutionRoom.apply', '2 OrgHub.publish']);
  });

  it("a heartbeat makes one round trip, to the run's room: the queue's Dispatcher is not called, and holds no alarm", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    const taskId = req.json.data.taskId as string;
    expect((await poll(agent, 0))?.taskId).toBe(taskId);
    const t = tracer();
    const res = await call(traced(t), 'POST', `/api/agent/jobs/${taskId}/heartbeat`, agent.token, {});
    expect(res.json.data).toMatchObject({ cancel: false });
    expect(t.calls.map((c) => `${c.depth} ${c.name}`)).toEqual(['1 ExecutionRoom.heartbeat']);
    // Nothing of the lease's time is kept by the Dispatcher (it used to re-arm its alarm on every heartbeat).
    const queue = env.DISPATCHER.get(env.DISPATCHER.idFromName(`org:${org.organizationId}`));
    expect(await runInDurableObject(queue, (_i, state) => state.storage.getAlarm())).toBeNull();
    await agentApi(agent, 'POST', `/api/agent/jobs/${taskId}/complete`, { status: 'PASSED', exitCode: 0 });
  });

  it("nothing read ahead of the caller check leaks: a revoked session, a viewer and another org's project get 401, 403 and 404", async () => {
    const org = await signup();
    const other = await signup();
    const project = await createProject(org.token);
    const foreign = await createProject(other.token);
    expect((await api('POST', '/api/execution-request', { token: org.token, body: { projectId: foreign.id } })).status).toBe(404);
    const invite = await api('POST', '/api/invitations', { token: org.token, body: { email: `v-${crypto.randomUUID()}@example.com`, role: 'viewer' } });
    const viewer = await api('POST', '/api/invitations/accept', { body: { token: invite.json.data.token, name: 'V', password: 'correct-horse-42' } });
    const asViewer = await api('POST', '/api/execution-request', { token: viewer.json.data.token, body: { projectId: project.id } });
    expect(asViewer.status).toBe(403);
    // A viewer's bad body is still a 403, and a revoked session's anything a 401: the caller is checked first.
    expect((await api('POST', '/api/execution-request', { token: viewer.json.data.token, body: { projectId: 7 } })).status).toBe(403);
    expect((await api('POST', '/api/auth/logout', { token: org.token })).status).toBeLessThan(300);
    const revoked = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    expect(revoked.status).toBe(401);
    expect(revoked.json.code).toBe('UNAUTHORIZED');
  });

  it("the org's rate limit, asked alongside the session lookup, answers 429 only to a valid caller: a revoked session still gets 401", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const spent: Env = { ...env, ORG_API_LIMITER: { limit: async () => ({ success: false }) } };
    const limited = await call(spent, 'POST', '/api/execution-request', org.token, { projectId: project.id });
    expect(limited.status).toBe(429);
    expect(limited.json.code).toBe('RATE_LIMITED');
    expect((await api('POST', '/api/auth/logout', { token: org.token })).status).toBeLessThan(300);
    const revoked = await call(spent, 'POST', '/api/execution-request', org.token, { projectId: project.id });
    expect(revoked.status).toBe(401);
  });

  it("the run's log tells its start in order: queued, then picked up", async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const agent = await registerAgent(org);
    const polling = poll(agent, 20_000);
    const req = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    const job = await polling;
    expect(job?.taskId).toBe(req.json.data.taskId);
    const logs = await api('GET', `/api/executions/${job!.taskId}/logs`, { token: org.token });
    const lines = logs.json.data.chunks.map((c: { data: string }) => c.data);
    expect(lines[0]).toMatch(/run queued on/);
    expect(lines[1]).toMatch(/picked up by agent/);
    await agentApi(agent, 'POST', `/api/agent/jobs/${job!.taskId}/complete`, { status: 'PASSED', exitCode: 0 });
  });
});
