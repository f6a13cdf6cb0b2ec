// Calls the real Worker (exports.default.fetch) inside workerd, and makes fresh organizations.
import { exports } from 'cloudflare:workers';
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
  try { json = JSON.parse(text); } catch { json = { success: false, raw: text }; }
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
