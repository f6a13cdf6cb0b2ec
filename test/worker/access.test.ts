// Every route × every role, cross-org access for every resource, malformed and oversized input,
// API keys, and the headers every response carries.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/d1';
import { app } from '../../worker/app';
import * as schema from '../../worker/db/schema';
import { isUniqueViolation } from '../../worker/lib/db-errors';
import { operations } from '../../worker/openapi';
import { addMember, api, createApiKey, createProject, PASSWORD, registerAgent, signup } from './helpers';

const RANK = { viewer: 0, developer: 1, admin: 2 } as const;
type Role = keyof typeof RANK;

describe('role matrix', () => {
  const jwtOps = operations
    .filter((op) => op.auth === 'jwt' && op.role)
    .sort((a, b) => Number(a.path.endsWith('/logout')) - Number(b.path.endsWith('/logout')));

  it('lists every route of the app in the OpenAPI list (so the matrix below covers it)', () => {
    const documented = new Set(operations.map((op) => `${op.method.toUpperCase()} ${op.path.replace(/\{(\w+)\}/g, ':$1')}`));
    const routes = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path.replace(/\/$/, '')}`)
      .filter((r) => !r.endsWith('/api/openapi.json'))
      .map((r) => r.replace('/reports/:taskId/*', '/reports/:taskId/:path'));
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
    expect(jwtOps.length).toBeGreaterThan(30);
  });

  it('lets each role do exactly what its rank allows, on every route', async () => {
    const admin = await signup();
    const tokens: Record<Role, string> = {
      admin: admin.token,
      developer: (await addMember(admin, 'developer')).token,
      viewer: (await addMember(admin, 'viewer')).token,
    };
    const failures: string[] = [];
    for (const op of jwtOps) {
      const path = op.path.replace(/\{[^}]+\}/g, 'missing-id');
      for (const role of Object.keys(tokens) as Role[]) {
        const { status, json } = await api(op.method.toUpperCase(), path, {
          token: tokens[role],
          body: ['post', 'put', 'patch'].includes(op.method) ? {} : undefined,
        });
        const allowed = RANK[role] >= RANK[op.role!];
        const okay = allowed ? status !== 401 && status !== 403 : status === 403 && json.code === 'FORBIDDEN';
        if (!okay) failures.push(`${op.method.toUpperCase()} ${op.path} as ${role}: ${status} ${json.code ?? ''}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses every JWT route without a token (401) and with an API key where a member is required', async () => {
    const admin = await signup();
    const apiKey = await createApiKey(admin);
    const failures: string[] = [];
    for (const op of jwtOps) {
      const path = op.path.replace(/\{[^}]+\}/g, 'missing-id');
      const anonymous = await api(op.method.toUpperCase(), path, { body: ['post', 'put', 'patch'].includes(op.method) ? {} : undefined });
      if (anonymous.status !== 401) failures.push(`${op.method} ${op.path} anonymous: ${anonymous.status}`);
    }
    expect(failures).toEqual([]);
    for (const path of ['/api/users', '/api/projects', '/api/api-keys', '/api/organization']) {
      expect((await api('GET', path, { apiKey })).status, path).toBe(401);
    }
  });
});

describe('tenant isolation', () => {
  it('answers 404 for every resource of another organization, and changes nothing', async () => {
    const a = await signup();
    const b = await signup();
    const project = await createProject(a.token);
    await api('PUT', `/api/projects/${project.id}/run-settings/staging`, { token: a.token, body: { variables: { A: '1' } } });
    const member = await addMember(a, 'developer');
    const invite = (await api('POST', '/api/invitations', { token: a.token, body: { email: `x-${crypto.randomUUID()}@example.com`, role: 'viewer' } })).json
      .data;
    const key = (await api('POST', '/api/api-keys', { token: a.token, body: { name: 'k' } })).json.data;
    const agent = await registerAgent(a);

    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/api/projects/${project.id}`],
      ['PATCH', `/api/projects/${project.id}`, { name: 'stolen' }],
      ['DELETE', `/api/projects/${project.id}`],
      ['GET', `/api/projects/${project.id}/run-settings`],
      ['PUT', `/api/projects/${project.id}/run-settings/staging`, { variables: { B: '2' } }],
      ['DELETE', `/api/projects/${project.id}/run-settings/staging`],
      ['PATCH', `/api/users/${member.userId}`, { role: 'viewer' }],
      ['DELETE', `/api/users/${member.userId}`],
      ['DELETE', `/api/invitations/${invite.id}`],
      ['DELETE', `/api/api-keys/${key.id}`],
      ['PATCH', `/api/agents/${agent.id}`, { disabled: true }],
      ['DELETE', `/api/agents/${agent.id}`],
      ['POST', '/api/execution-request', { projectId: project.id }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await api(method, path, { token: b.token, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json).toMatchObject({ success: false, code: 'NOT_FOUND' });
    }
    // Nothing of A's changed or leaked.
    expect((await api('GET', `/api/projects/${project.id}`, { token: a.token })).json.data.name).toBe(project.name);
    expect((await api('GET', `/api/projects/${project.id}/run-settings`, { token: a.token })).json.data[0].variables).toEqual({ A: '1' });
    const members = (await api('GET', '/api/users', { token: b.token })).json.data;
    expect(members.map((m: any) => m.organizationId)).toEqual([b.organizationId]);
    expect((await api('GET', '/api/agents', { token: b.token })).json.data).toEqual([]);
    expect((await api('GET', '/api/projects', { token: b.token })).json.data).toEqual([]);
    const aMembers = (await api('GET', '/api/users', { token: a.token })).json.data;
    expect(aMembers.find((m: any) => m.id === member.userId)?.role).toBe('developer');
  });
});

describe('input validation', () => {
  it('answers malformed JSON, missing and wrong fields with 400 and the zod issues', async () => {
    const org = await signup();
    const invalid = await api('POST', '/api/projects', { token: org.token, rawBody: '{"name": ', headers: { 'content-type': 'application/json' } });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ success: false, code: 'INVALID_JSON' });
    const empty = await api('POST', '/api/projects', { token: org.token });
    expect(empty.status).toBe(400);
    const wrong = await api('POST', '/api/projects', { token: org.token, body: { name: 42, image: 'Not An Image!!' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.code).toBe('VALIDATION_ERROR');
    expect(wrong.json.issues!.map((i: any) => i.path.join('.'))).toEqual(expect.arrayContaining(['name', 'image']));
    // Docker's grammar, the one agents check jobs against: a path is not an image.
    for (const image of ['a/../../x', 'Upper/Case', 'busybox:', '-leading', 'x'.repeat(256)]) {
      const res = await api('POST', '/api/projects', { token: org.token, body: { name: `p-${image.length}`, image } });
      expect(res.status, image).toBe(400);
    }
    expect(
      (await api('POST', '/api/projects', { token: org.token, body: { name: 'digest', image: `registry.local:5000/team/e2e:v1.2@sha256:${'a'.repeat(64)}` } }))
        .status,
    ).toBe(201);
    const arr = await api('POST', '/api/auth/login', { body: [1, 2, 3] });
    expect(arr.status).toBe(400);
  });

  it('answers a second project with the same name, created or renamed, with 409 PROJECT_EXISTS (not a 500 from the unique index)', async () => {
    const org = await signup();
    const first = await createProject(org.token, 'web-e2e');
    const dup = await api('POST', '/api/projects', { token: org.token, body: { name: 'web-e2e', image: 'busybox' } });
    expect(dup.status, JSON.stringify(dup.json)).toBe(409);
    expect(dup.json).toMatchObject({ success: false, code: 'PROJECT_EXISTS' });
    const other = await createProject(org.token, 'api-e2e');
    const rename = await api('PATCH', `/api/projects/${other.id}`, { token: org.token, body: { name: 'web-e2e' } });
    expect(rename.status, JSON.stringify(rename.json)).toBe(409);
    expect(rename.json.code).toBe('PROJECT_EXISTS');
    // Another organization may use the name.
    expect((await api('POST', '/api/projects', { token: (await signup()).token, body: { name: 'web-e2e', image: 'busybox' } })).status).toBe(201);
    expect((await api('GET', `/api/projects/${first.id}`, { token: org.token })).json.data.name).toBe('web-e2e');
  });

  it("recognises a UNIQUE violation through drizzle's wrapped D1 error, and nothing else as one", async () => {
    const org = await signup();
    const db = drizzle(env.DB, { schema });
    const row = await db.select().from(schema.users).where(eq(schema.users.id, org.userId)).get();
    const duplicate = await db
      .insert(schema.users)
      .values({ ...row!, id: crypto.randomUUID() })
      .catch((err: unknown) => err);
    expect(String(duplicate)).not.toContain('UNIQUE'); // the wrapper's message is the SQL: why a plain string test missed it
    expect(isUniqueViolation(duplicate)).toBe(true);
    const notNull = await db
      .insert(schema.users)
      .values({ ...row!, id: crypto.randomUUID(), email: `x-${crypto.randomUUID()}@example.com`, name: null as unknown as string })
      .catch((err: unknown) => err);
    expect(notNull).toBeInstanceOf(Error);
    expect(isUniqueViolation(notNull)).toBe(false);
    expect(isUniqueViolation(new Error('boom'))).toBe(false);
  });

  it('answers an oversized body with 413', async () => {
    const org = await signup();
    const res = await api('POST', '/api/projects', { token: org.token, body: { name: 'x', image: 'busybox', command: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ success: false, code: 'PAYLOAD_TOO_LARGE' });
  });

  it('validates the Slack webhook as an https hooks.slack.com URL', async () => {
    const org = await signup();
    for (const url of ['http://hooks.slack.com/services/x', 'https://evil.example.com/hooks.slack.com', 'javascript:alert(1)']) {
      expect((await api('PATCH', '/api/organization', { token: org.token, body: { slackWebhookUrl: url } })).status, url).toBe(400);
    }
    const good = await api('PATCH', '/api/organization', {
      token: org.token,
      body: { slackWebhookUrl: 'https://hooks.slack.com/services/T0/B0/xyz', aiAnalysisEnabled: false },
    });
    expect(good.json.data).toMatchObject({ aiAnalysisEnabled: false, slackWebhookUrl: 'https://hooks.slack.com/services/T0/B0/xyz' });
  });

  it('gives the Slack webhook URL (a credential) to admins only; other members see whether one is set', async () => {
    const org = await signup();
    const url = 'https://hooks.slack.com/services/T0/B0/secret-part';
    expect((await api('PATCH', '/api/organization', { token: org.token, body: { slackWebhookUrl: url } })).status).toBe(200);
    const developer = await addMember(org, 'developer');
    const viewer = await addMember(org, 'viewer');
    const login = (m: { email: string }) => api('POST', '/api/auth/login', { body: { email: m.email, password: PASSWORD } });
    for (const member of [developer, viewer]) {
      for (const [name, res] of [
        ['organization', await api('GET', '/api/organization', { token: member.token })],
        ['me', await api('GET', '/api/auth/me', { token: member.token })],
        ['login', await login(member)],
      ] as const) {
        const organization = name === 'organization' ? res.json.data : res.json.data.organization;
        expect(organization.slackWebhookConfigured, name).toBe(true);
        expect(organization, name).not.toHaveProperty('slackWebhookUrl');
        expect(JSON.stringify(res.json), name).not.toContain('secret-part');
      }
    }
    // An invitee's accept answer, before any Slack change, says the same.
    const invite = await api('POST', '/api/invitations', { token: org.token, body: { email: `late-${crypto.randomUUID()}@example.com`, role: 'viewer' } });
    const accepted = await api('POST', '/api/invitations/accept', { body: { token: invite.json.data.token, name: 'Late', password: PASSWORD } });
    expect(accepted.json.data.organization).toMatchObject({ slackWebhookConfigured: true });
    expect(accepted.json.data.organization).not.toHaveProperty('slackWebhookUrl');
    for (const res of [await api('GET', '/api/organization', { token: org.token }), await login(org)]) {
      expect(res.json.data.organization ?? res.json.data).toMatchObject({ slackWebhookConfigured: true, slackWebhookUrl: url });
    }
    const cleared = await api('PATCH', '/api/organization', { token: org.token, body: { slackWebhookUrl: null } });
    expect(cleared.json.data).toMatchObject({ slackWebhookConfigured: false, slackWebhookUrl: null });
    expect((await api('GET', '/api/organization', { token: viewer.token })).json.data.slackWebhookConfigured).toBe(false);
  });

  it('answers unknown routes with a 404 envelope', async () => {
    const res = await api('GET', '/api/nope');
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ success: false, code: 'NOT_FOUND' });
  });
});

describe('API keys', () => {
  it('shows a key once, stores only its hash, lists it by prefix, and stops it working when revoked', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const created = await api('POST', '/api/api-keys', { token: org.token, body: { name: 'github' } });
    const key = created.json.data.key as string;
    expect(key).toMatch(/^agx_[A-Za-z0-9]{40}$/);
    const row = await env.DB.prepare('SELECT key_hash, prefix FROM api_keys WHERE id = ?')
      .bind(created.json.data.id)
      .first<{ key_hash: string; prefix: string }>();
    expect(row!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.key_hash).not.toContain(key);
    const list = await api('GET', '/api/api-keys', { token: org.token });
    expect(list.json.data[0]).toMatchObject({ prefix: key.slice(0, 12), name: 'github' });
    expect(JSON.stringify(list.json)).not.toContain(key);
    expect((await api('POST', '/api/ci/trigger', { apiKey: key, body: { projectId: project.id } })).status).toBe(201);
    expect((await api('DELETE', `/api/api-keys/${created.json.data.id}`, { token: org.token })).status).toBe(200);
    const after = await api('POST', '/api/ci/trigger', { apiKey: key, body: { projectId: project.id } });
    expect(after.status).toBe(401);
    expect(after.json.error).toBe('Invalid or revoked API key');
  });
});

describe('members and invitations', () => {
  it('an invitation is single use, can be revoked, and expires after 7 days', async () => {
    const admin = await signup();
    const mk = async () =>
      (await api('POST', '/api/invitations', { token: admin.token, body: { email: `i-${crypto.randomUUID()}@example.com`, role: 'developer' } })).json.data;
    const inv = await mk();
    expect(inv.acceptUrl).toContain(`/accept-invite?token=${inv.token}`);
    expect(inv.expiresAt - inv.createdAt).toBe(7 * 24 * 3600 * 1000);
    const body = (token: string) => ({ token, name: 'New Person', password: 'another-pass-99' });
    expect((await api('POST', '/api/invitations/accept', { body: body(inv.token) })).status).toBe(201);
    const reuse = await api('POST', '/api/invitations/accept', { body: body(inv.token) });
    expect(reuse.status).toBe(410);
    expect(reuse.json.code).toBe('INVITATION_USED');
    const revoked = await mk();
    await api('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token });
    expect((await api('POST', '/api/invitations/accept', { body: body(revoked.token) })).json.code).toBe('INVITATION_REVOKED');
    const expired = await mk();
    await env.DB.prepare('UPDATE invitations SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, expired.id)
      .run();
    expect((await api('POST', '/api/invitations/accept', { body: body(expired.token) })).json.code).toBe('INVITATION_EXPIRED');
    expect((await api('POST', '/api/invitations/accept', { body: body('x'.repeat(40)) })).status).toBe(404);
  });

  it('applies a role change at once, keeps the last admin, and audits admin actions', async () => {
    const admin = await signup();
    const dev = await addMember(admin, 'developer');
    expect((await api('POST', '/api/projects', { token: dev.token, body: { name: 'p', image: 'busybox' } })).status).toBe(201);
    await api('PATCH', `/api/users/${dev.userId}`, { token: admin.token, body: { role: 'viewer' } });
    expect((await api('POST', '/api/projects', { token: dev.token, body: { name: 'p2', image: 'busybox' } })).status).toBe(403);
    const demoteSelf = await api('PATCH', `/api/users/${admin.userId}`, { token: admin.token, body: { role: 'viewer' } });
    expect(demoteSelf.json.code).toBe('LAST_ADMIN');
    await api('DELETE', `/api/users/${dev.userId}`, { token: admin.token });
    expect((await api('GET', '/api/auth/me', { token: dev.token })).status).toBe(401);
    const audit = (await api('GET', '/api/organization/audit-logs', { token: admin.token })).json.data.map((r: any) => r.action);
    expect(audit).toEqual(expect.arrayContaining(['invitation.created', 'user.role_changed', 'user.removed']));
  });
});

describe('headers and documents', () => {
  it('sends security headers and answers CORS only for allowed origins', async () => {
    const allowed = await api('GET', '/api/health', { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    for (const h of ['strict-transport-security', 'content-security-policy', 'x-frame-options', 'x-content-type-options'])
      expect(allowed.headers.get(h), h).toBeTruthy();
    const denied = await api('GET', '/api/health', { headers: { origin: 'https://evil.example.com' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves an OpenAPI document generated from the zod schemas', async () => {
    const res = await api('GET', '/api/openapi.json');
    expect(res.json.openapi).toBe('3.1.0');
    const signupOp = res.json.paths['/api/auth/signup'].post;
    expect(signupOp.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['email', 'password', 'name', 'organizationName']));
    expect(Object.keys(res.json.paths).length).toBeGreaterThan(30);
  });
});
