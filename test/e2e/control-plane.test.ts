// The control plane as a newcomer starts it: real `wrangler dev` (workerd, local D1/DO/R2) with the
// migrations applied, driven over real HTTP and WebSockets from Node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startControlPlane, type ControlPlane } from '../support/wrangler';

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
});
afterAll(async () => {
  await cp?.stop();
});

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${cp.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

function collect(ws: WebSocket) {
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  const until = async (pred: (m: any[]) => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!pred(messages)) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages).slice(0, 1000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { messages, until };
}

describe('control plane under wrangler dev', () => {
  it('serves /api/health and the auth flow against local D1, with a cookie session for browsers', async () => {
    expect((await call('GET', '/api/health')).json).toMatchObject({ success: true, data: { status: 'ok' } });
    const email = `e2e-${Date.now()}@example.com`;
    const signup = await call('POST', '/api/auth/signup', { body: { email, password: 'e2e-password-1', name: 'E2E', organizationName: 'E2E Org' } });
    expect(signup.status).toBe(201);
    const cookie = signup.headers.get('set-cookie')!;
    expect(cookie).toMatch(/agnox_session=.+; .*HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const login = await call('POST', '/api/auth/login', { body: { email, password: 'e2e-password-1' } });
    expect(login.status).toBe(200);
    const me = await call('GET', '/api/auth/me', { headers: { cookie: cookie.split(';')[0]! } });
    expect(me.json.data.user.email).toBe(email);
    expect((await call('POST', '/api/auth/logout', { token: login.json.data.token })).status).toBe(200);
    expect((await call('GET', '/api/auth/me', { token: login.json.data.token })).status).toBe(401);
  });

  it('carries a run from request to PASSED: agent long poll, WebSocket log stream, a viewer joining mid-run', async () => {
    const signup = await call('POST', '/api/auth/signup', {
      body: { email: `run-${Date.now()}@example.com`, password: 'e2e-password-1', name: 'R', organizationName: 'Runs' },
    });
    const token = signup.json.data.token;
    const project = await call('POST', '/api/projects', { token, body: { name: 'web', image: 'busybox', command: 'echo hello' } });
    const reg = await call('POST', '/api/agents/registration-tokens', { token, body: {} });
    const agent = await call('POST', '/api/agent/register', { body: { token: reg.json.data.token, name: 'box', arch: 'arm64', os: 'linux', version: 'e2e' } });
    const agentAuth = { authorization: `Bearer ${agent.json.data.agentToken}` };

    const hubTicket = (await call('POST', '/api/auth/ws-ticket', { token, body: {} })).json.data.ticket;
    const hub = new WebSocket(`${cp.url.replace('http', 'ws')}/api/live?ticket=${hubTicket}`);
    const hubMsgs = collect(hub);
    await new Promise((r) => hub.once('open', r));

    const polling = call('POST', '/api/agent/poll', { headers: agentAuth, body: { capacity: 1, waitMs: 15_000 } });
    const run = await call('POST', '/api/execution-request', { token, body: { projectId: project.json.data.id } });
    const { job } = (await polling).json.data;
    expect(job.taskId).toBe(run.json.data.taskId);
    const taskId = job.taskId as string;

    const stream = new WebSocket(`${cp.url.replace('http', 'ws')}/api/agent/jobs/${taskId}/stream`, { headers: agentAuth });
    const acks = collect(stream);
    await new Promise((r) => stream.once('open', r));
    const send = (from: number, to: number) =>
      stream.send(
        JSON.stringify({
          type: 'chunks',
          chunks: Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, stream: 'stdout', data: `out ${from + i}\n` })),
        }),
      );
    send(1, 50);
    await acks.until((m) => m.some((a) => a.upTo === 50));

    const viewTicket = (await call('POST', '/api/auth/ws-ticket', { token, body: { taskId } })).json.data.ticket;
    const viewer = new WebSocket(`${cp.url.replace('http', 'ws')}/api/executions/${taskId}/live?since=0&ticket=${viewTicket}`);
    const view = collect(viewer);
    await new Promise((r) => viewer.once('open', r));
    send(51, 100);
    await acks.until((m) => m.some((a) => a.upTo === 100));
    const done = await call('POST', `/api/agent/jobs/${taskId}/complete`, { headers: agentAuth, body: { status: 'PASSED', exitCode: 0, lastSeq: 100 } });
    expect(done.json.data).toMatchObject({ status: 'PASSED', logComplete: true });
    await view.until((m) => m.some((x) => x.type === 'status' && x.status === 'PASSED'));

    const seen = view.messages.filter((m) => m.type === 'log').flatMap((m) => m.chunks);
    expect(seen.map((c: any) => c.seq)).toEqual(seen.map((_: unknown, i: number) => i + 1));
    expect(seen.filter((c: any) => c.stream === 'stdout').map((c: any) => c.data)).toEqual(Array.from({ length: 100 }, (_, i) => `out ${i + 1}\n`));
    await hubMsgs.until((m) => m.some((x) => x.type === 'executions' && x.updated.some((e: any) => e.taskId === taskId && e.status === 'PASSED')));
    // Coalesced (one message per interval), so a status may be skipped, never told out of order.
    const told = hubMsgs.messages.flatMap((x) => (x.type === 'executions' ? x.updated : [])).filter((e: any) => e.taskId === taskId);
    const lifecycle = ['PENDING', 'RUNNING', 'PASSED'];
    const ranks = told.map((e: any) => lifecycle.indexOf(e.status));
    expect(ranks).toEqual([...new Set(ranks)].sort());
    expect(ranks.at(-1)).toBe(2);
    for (const ws of [hub, stream, viewer]) ws.close();
  });
});
