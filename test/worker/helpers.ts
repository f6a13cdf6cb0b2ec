// Calls the real Worker (exports.default.fetch) inside workerd, and makes fresh organizations.
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';

export type Call = { token?: string; apiKey?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; ip?: string };
export type Json = { success: boolean; data?: any; error?: string; code?: string; issues?: unknown[] } & Record<string, any>;

let ipCounter = 0;
/** A distinct client address per call unless one is given, so per-IP limits don't couple tests. */
const nextIp = () => `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}`;

export async function api(method: string, path: string, call: Call = {}): Promise<{ status: number; json: Json; headers: Headers }> {
  const headers: Record<string, string> = { 'cf-connecting-ip': call.ip ?? nextIp(), ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.apiKey) headers['x-api-key'] = call.apiKey;
  let body: string | undefined = call.rawBody;
  if (call.body !== undefined) {
    body = JSON.stringify(call.body);
    headers['content-type'] = 'application/json';
  }
  const res = await exports.default.fetch(new Request(`http://agnox.test${path}`, { method, headers, body }));
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { success: false, raw: text };
  }
  return { status: res.status, json, headers: res.headers };
}

let orgCounter = 0;
export const PASSWORD = 'correct-horse-42';

export type Org = { token: string; userId: string; organizationId: string; email: string };

export async function signup(name = `Org ${++orgCounter}`): Promise<Org> {
  const email = `admin-${crypto.randomUUID()}@example.com`;
  const { status, json } = await api('POST', '/api/auth/signup', { body: { email, password: PASSWORD, name: 'Ada Admin', organizationName: name } });
  expect(status, JSON.stringify(json)).toBe(201);
  return { token: json.data.token, userId: json.data.user.id, organizationId: json.data.organization.id, email };
}

/** Adds a member with `role` to the admin's org through the real invitation flow; returns the member's token. */
export async function addMember(admin: Org, role: 'admin' | 'developer' | 'viewer'): Promise<Org> {
  const email = `${role}-${crypto.randomUUID()}@example.com`;
  const invite = await api('POST', '/api/invitations', { token: admin.token, body: { email, role } });
  expect(invite.status, JSON.stringify(invite.json)).toBe(201);
  const accepted = await api('POST', '/api/invitations/accept', { body: { token: invite.json.data.token, name: `A ${role}`, password: PASSWORD } });
  expect(accepted.status, JSON.stringify(accepted.json)).toBe(201);
  return { token: accepted.json.data.token, userId: accepted.json.data.user.id, organizationId: admin.organizationId, email };
}

export async function createApiKey(admin: Org): Promise<string> {
  const { status, json } = await api('POST', '/api/api-keys', { token: admin.token, body: { name: 'ci' } });
  expect(status).toBe(201);
  return json.data.key;
}

export async function createProject(token: string, name = `p-${crypto.randomUUID().slice(0, 8)}`) {
  const { status, json } = await api('POST', '/api/projects', { token, body: { name, image: 'agnox/busybox:test', command: 'echo hi' } });
  expect(status, JSON.stringify(json)).toBe(201);
  return json.data as { id: string; name: string };
}

export type TestAgent = { id: string; token: string; labels: Record<string, string> };

/** Registers an agent through the real flow: an admin's registration token, then /api/agent/register. */
export async function registerAgent(admin: Org, labels: Record<string, string> = {}, arch = 'arm64'): Promise<TestAgent> {
  const reg = await api('POST', '/api/agents/registration-tokens', { token: admin.token, body: {} });
  expect(reg.status, JSON.stringify(reg.json)).toBe(201);
  const res = await api('POST', '/api/agent/register', {
    body: { token: reg.json.data.token, name: `agent-${crypto.randomUUID().slice(0, 6)}`, labels, arch, os: 'linux', version: '0.1.0', concurrency: 2 },
  });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return { id: res.json.data.agentId, token: res.json.data.agentToken, labels: res.json.data.labels };
}

/** Calls the agent protocol with the agent's token. */
export const agentApi = (agent: TestAgent, method: string, path: string, body?: unknown) =>
  api(method, path, { headers: { authorization: `Bearer ${agent.token}` }, body });

export async function poll(agent: TestAgent, waitMs = 0, capacity = 1) {
  const res = await agentApi(agent, 'POST', '/api/agent/poll', { capacity, waitMs });
  return res.status === 204 ? null : (res.json.data.job as Record<string, any>);
}

/** Opens a WebSocket to the Worker and collects its JSON messages. */
export async function openSocket(path: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(new Request(`http://agnox.test${path}`, { headers: { upgrade: 'websocket', ...headers } }));
  if (res.status !== 101) return { status: res.status as 400 | 401 | 403 | 404 | 426 | 500, body: await res.text() };
  const ws = res.webSocket!;
  const messages: any[] = [];
  const waiters: Array<() => void> = [];
  /** Resolves when the server closes the socket. */
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  ws.addEventListener('message', (e) => {
    messages.push(JSON.parse(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)));
    for (const w of waiters.splice(0)) w();
  });
  ws.accept();
  /** Resolves once `predicate` holds over the messages so far (or rejects after `ms`). */
  const until = (predicate: (msgs: any[]) => boolean, ms = 5000) =>
    new Promise<any[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket condition not met in ${ms} ms; got ${JSON.stringify(messages).slice(0, 2000)}`)), ms);
      const check = () => {
        if (predicate(messages)) {
          clearTimeout(timer);
          resolve(messages);
        } else waiters.push(check);
      };
      check();
    });
  return { status: 101 as const, ws, messages, until, closed };
}

export async function wsTicket(token: string, taskId?: string) {
  const res = await api('POST', '/api/auth/ws-ticket', { token, body: taskId ? { taskId } : {} });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.data.ticket as string;
}

/** The log lines a viewer received, in order. */
export const logText = (messages: any[]) => messages.filter((m) => m.type === 'log').flatMap((m) => m.chunks);

/**
 * Runs `fn` as if its logins from one address were spread over minutes: LOGIN_IP_LIMITER (5 a minute per
 * address, a simulated Workers rate limit on the wall clock) lets every attempt through meanwhile, so the
 * login lock behind it can be seen. Only this test file's Worker env is changed.
 */
export async function atAnyPace<T>(fn: () => Promise<T>): Promise<T> {
  const real = env.LOGIN_IP_LIMITER;
  env.LOGIN_IP_LIMITER = { limit: async () => ({ success: true }) };
  try {
    return await fn();
  } finally {
    env.LOGIN_IP_LIMITER = real;
  }
}
