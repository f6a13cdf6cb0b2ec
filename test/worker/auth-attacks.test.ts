// Attacks on authentication: forged, confused, expired, revoked and tampered tokens; one credential
// standing in for another; guessing (login, API keys and the other bearer secrets, sign-up floods);
// invitation reuse; and secrets compared by hash only.
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { exportSPKI, generateKeyPair, exportJWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { app } from '../../worker/app';
import { jwtSecret } from '../../worker/env';
import { secretsEqual, sha256Hex } from '../../worker/lib/crypto';
import { signSession as signIngestSession } from '../../worker/services/ingest-session';
import { signStripePayload } from '../../worker/services/stripe';
import { addMember, api, atAnyPace, createApiKey, createProject, openSocket, PASSWORD, registerAgent, signup, wsTicket } from './helpers';

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const claimsOf = (token: string) => JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, any>;
const encode = (s: string) => new TextEncoder().encode(s);

/** A token with `claims`, signed by `key` under `alg` (the server only trusts HS256 with its own secret). */
const sign = (claims: Record<string, unknown>, key: Uint8Array | CryptoKey, alg = 'HS256', header: Record<string, unknown> = {}) =>
  new SignJWT(claims).setProtectedHeader({ ...header, alg, typ: 'JWT' }).sign(key);

let ipCounter = 0;
/** An address of its own, so each test's per-address limits start from zero. */
const freshIp = () => `198.18.${Math.floor(Math.random() * 256)}.${ipCounter++ % 256}`;

const me = (token: string) => api('GET', '/api/auth/me', { token });

describe('forged and tampered session tokens', () => {
  it('refuses alg:none, RS256 with a generated key (also with the key embedded), and HS256 signed with public values', async () => {
    const org = await signup();
    const claims = claimsOf(org.token);
    expect((await me(org.token)).status).toBe(200);
    const [, payload, signature] = org.token.split('.');
    const forged: Record<string, string> = {
      'alg none, no signature': `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'alg none, original signature': `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      'alg None': `${b64url({ alg: 'None' })}.${payload}.`,
    };
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    forged['RS256, generated key'] = await sign(claims, privateKey, 'RS256');
    forged['RS256, key embedded as jwk'] = await sign(claims, privateKey, 'RS256', { jwk: await exportJWK(publicKey) });
    const publicValues = [await exportSPKI(publicKey), env.PUBLIC_URL, 'agnox:session', org.organizationId, org.userId, 'secret'];
    for (const value of publicValues) forged[`HS256 keyed with ${value.slice(0, 30)}`] = await sign(claims, encode(value));
    for (const [name, token] of Object.entries(forged)) {
      const res = await me(token);
      expect(res.status, name).toBe(401);
      expect(res.json).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
    }
  });

  it('refuses an expired token and one not valid yet', async () => {
    const org = await signup();
    const claims = claimsOf(org.token);
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ ...claims, iat: now - 3600, exp: now - 1 }, jwtSecret(env));
    expect((await me(expired)).json).toMatchObject({ code: 'UNAUTHORIZED', error: 'Invalid or expired token' });
    const early = await sign({ ...claims, nbf: now + 3600 }, jwtSecret(env));
    expect((await me(early)).status).toBe(401);
  });

  it('refuses tampered claims (role, organization, user, audience), re-signed with a wrong secret or not at all', async () => {
    const a = await signup();
    const b = await signup();
    const viewer = await addMember(a, 'viewer');
    const claims = claimsOf(viewer.token);
    const [header, , signature] = viewer.token.split('.');
    const tampers: Record<string, Record<string, unknown>> = {
      'role escalated': { role: 'admin' },
      'organization swapped': { organizationId: b.organizationId },
      'user swapped': { userId: b.userId },
      'audience changed': { aud: 'agnox:ws' },
    };
    for (const [name, change] of Object.entries(tampers)) {
      const unsigned = `${header}.${b64url({ ...claims, ...change })}.${signature}`;
      const wrongSecret = await sign({ ...claims, ...change }, encode('a-wrong-secret-of-the-right-length-1234567890'));
      for (const [how, token] of [
        ['kept signature', unsigned],
        ['wrong secret', wrongSecret],
      ] as const) {
        expect((await me(token)).status, `${name}, ${how}`).toBe(401);
        expect((await api('GET', '/api/api-keys', { token })).status, `${name}, ${how}`).toBe(401);
      }
    }
    // Even signed with the real secret, the server believes the database, not the claims: the role is the
    // user's current one, and a user that is not in the claimed organization is no session.
    const secret = jwtSecret(env);
    const escalated = await sign({ ...claims, role: 'admin' }, secret);
    expect((await me(escalated)).json.data.user.role).toBe('viewer');
    expect((await api('GET', '/api/api-keys', { token: escalated })).status).toBe(403);
    expect((await me(await sign({ ...claims, organizationId: b.organizationId }, secret))).status).toBe(401);
    expect((await me(await sign({ ...claims, userId: b.userId }, secret))).status).toBe(401);
    expect((await me(await sign({ ...claims, aud: 'agnox:ws' }, secret))).status).toBe(401);
  });

  it('ends every use of a token at logout: API, cookie, ticket minting, live sockets, reports, and tickets minted before', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const run = await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } });
    const taskId = run.json.data.taskId as string;
    const listTicket = await wsTicket(org.token);
    const roomTicket = await wsTicket(org.token, taskId);
    expect((await api('POST', '/api/auth/logout', { token: org.token })).status).toBe(200);

    const cookie = { cookie: `agnox_session=${org.token}`, origin: env.PUBLIC_URL };
    for (const [name, res] of [
      ['me', await me(org.token)],
      ['me by cookie', await api('GET', '/api/auth/me', { headers: cookie })],
      ['projects', await api('GET', '/api/projects', { token: org.token })],
      ['run', await api('GET', `/api/executions/${taskId}`, { token: org.token })],
      ['ws-ticket', await api('POST', '/api/auth/ws-ticket', { token: org.token, body: {} })],
      ['report', await api('GET', `/reports/${taskId}/index.html`, { token: org.token })],
      ['logout again', await api('POST', '/api/auth/logout', { token: org.token })],
    ] as const) {
      expect(res.status, name).toBe(401);
      expect(res.json.error, name).toBe('Token has been revoked');
    }
    expect((await openSocket('/api/live', cookie)).status).toBe(401);
    expect((await openSocket(`/api/executions/${taskId}/live`, { authorization: `Bearer ${org.token}` })).status).toBe(401);
    // Tickets traded for the session before it ended die with it.
    const list = await openSocket(`/api/live?ticket=${listTicket}`);
    expect(list.status).toBe(401);
    expect(list.status === 101 ? '' : list.body).toContain('session this ticket came from has ended');
    expect((await openSocket(`/api/executions/${taskId}/live?ticket=${roomTicket}`)).status).toBe(401);
    // Another session of the same user is not affected.
    const again = await api('POST', '/api/auth/login', { body: { email: org.email, password: PASSWORD } });
    expect((await openSocket(`/api/live?ticket=${await wsTicket(again.json.data.token)}`)).status).toBe(101);
  });
});

describe('one credential standing in for another', () => {
  it('keeps session tokens and WebSocket tickets apart (audiences), both ways', async () => {
    const org = await signup();
    const project = await createProject(org.token);
    const taskId = (await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } })).json.data.taskId as string;
    const ticket = await wsTicket(org.token);
    expect((await me(ticket)).status).toBe(401);
    expect((await api('GET', '/api/projects', { token: ticket })).status).toBe(401);
    expect((await openSocket(`/api/executions/${taskId}/live`, { authorization: `Bearer ${ticket}` })).status).toBe(401);
    expect((await openSocket(`/api/live?ticket=${org.token}`)).status).toBe(401);
    expect((await openSocket(`/api/executions/${taskId}/live?ticket=${org.token}`)).status).toBe(401);
    // The refused uses did not spend the ticket: it still opens the live list, once.
    expect((await openSocket(`/api/live?ticket=${ticket}`)).status).toBe(101);
    expect((await openSocket(`/api/live?ticket=${ticket}`)).status).toBe(401);
    // A ticket for one run opens neither the org's list nor another run.
    const other = (await api('POST', '/api/execution-request', { token: org.token, body: { projectId: project.id } })).json.data.taskId as string;
    expect((await openSocket(`/api/executions/${other}/live?ticket=${await wsTicket(org.token, taskId)}`)).status).toBe(401);
  });

  it('accepts each secret only where it belongs: API key, agent token, registration token, ingest session, session JWT', async () => {
    const org = await signup();
    const apiKey = await createApiKey(org);
    const agent = await registerAgent(org);
    const registration = (await api('POST', '/api/agents/registration-tokens', { token: org.token, body: {} })).json.data.token as string;
    const project = await createProject(org.token);
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey,
      body: { projectId: project.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 0 },
    });
    const sessionId = setup.json.data.sessionId as string;
    const asBearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const misuses: Array<[string, Promise<{ status: number }>]> = [
      ['API key as session', api('GET', '/api/projects', asBearer(apiKey))],
      ['API key as agent token', api('POST', '/api/agent/poll', { ...asBearer(apiKey), body: { capacity: 0, waitMs: 0 } })],
      ['agent token as session', api('GET', '/api/projects', asBearer(agent.token))],
      ['agent token as API key', api('GET', '/api/executions', { apiKey: agent.token })],
      ['registration token as agent token', api('POST', '/api/agent/poll', { ...asBearer(registration), body: { capacity: 0, waitMs: 0 } })],
      ['registration token as API key', api('POST', '/api/ci/trigger', { apiKey: registration, body: { projectId: project.id } })],
      [
        'ingest session as API key',
        api('POST', '/api/ingest/event', { apiKey: sessionId, body: { sessionId, events: [{ type: 'log', chunk: 'x', timestamp: 1 }] } }),
      ],
      ['ingest session as session', api('GET', '/api/auth/me', asBearer(sessionId))],
      ['ingest session as agent token', api('POST', '/api/agent/poll', { ...asBearer(sessionId), body: { capacity: 0, waitMs: 0 } })],
      ['session JWT as API key', api('GET', '/api/executions', { apiKey: org.token })],
      ['session JWT as agent token', api('POST', '/api/agent/poll', { ...asBearer(org.token), body: { capacity: 0, waitMs: 0 } })],
      [
        'session JWT as ingest key',
        api('POST', '/api/ingest/setup', { apiKey: org.token, body: { projectId: project.id, framework: 'playwright', reporterVersion: '1', totalTests: 0 } }),
      ],
    ];
    for (const [name, call] of misuses) expect((await call).status, name).toBe(401);
    // The registration token was not spent by being tried as something else.
    const registered = await api('POST', '/api/agent/register', { body: { token: registration, name: 'late', arch: 'arm64', os: 'linux', version: '1' } });
    expect(registered.status).toBe(201);
  });

  it('refuses forged, tampered, expired and other-org ingest sessions as "not found"', async () => {
    const a = await signup();
    const b = await signup();
    const [keyA, keyB] = [await createApiKey(a), await createApiKey(b)];
    const projectA = await createProject(a.token);
    const setup = await api('POST', '/api/ingest/setup', {
      apiKey: keyA,
      body: { projectId: projectA.id, framework: 'playwright', reporterVersion: '1.0.0', totalTests: 1 },
    });
    const sessionId = setup.json.data.sessionId as string;
    const [version, payload, sig] = sessionId.split('.');
    const claims = JSON.parse(atob(payload!.replace(/-/g, '+').replace(/_/g, '/')));
    const wrongKeyEnv = { ...env, JWT_SECRET: 'someone-elses-secret-that-is-long-enough-0123' };
    const forged: Record<string, [string, string]> = {
      "B using A's session": [keyB, sessionId],
      'organization swapped, signature kept': [keyB, `${version}.${b64url({ ...claims, organizationId: b.organizationId })}.${sig}`],
      'signed with another secret': [keyA, await signIngestSession(wrongKeyEnv, claims)],
      expired: [keyA, await signIngestSession(env, { ...claims, exp: Date.now() - 1 })],
    };
    for (const [name, [apiKey, id]] of Object.entries(forged)) {
      const res = await api('POST', '/api/ingest/event', {
        apiKey,
        body: { sessionId: id, events: [{ type: 'log', chunk: 'forged\n', timestamp: Date.now() }] },
      });
      expect(res.status, name).toBe(404);
      expect(res.json.code, name).toBe('SESSION_NOT_FOUND');
    }
    const logs = await api('GET', `/api/executions/${setup.json.data.taskId}/logs`, { token: a.token });
    expect(JSON.stringify(logs.json.data)).not.toContain('forged');
  });
});

describe('guessing', () => {
  it('login: parallel guesses on one email from one address cannot get past 5 password checks, and then the address is locked out', async () => {
    const org = await signup();
    const ip = freshIp();
    await atAnyPace(async () => {
      const guesses = await Promise.all(
        Array.from({ length: 12 }, (_, i) => api('POST', '/api/auth/login', { ip, body: { email: org.email, password: `wrong-guess-${i}` } })),
      );
      const statuses = guesses.map((g) => g.status);
      expect(statuses.filter((s) => s === 401).length, String(statuses)).toBeLessThanOrEqual(5);
      expect(guesses.filter((g) => g.status === 429).every((g) => g.json.code === 'ACCOUNT_LOCKED')).toBe(true);
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
      const right = await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } });
      expect(right.status).toBe(429);
      expect(right.json.code).toBe('ACCOUNT_LOCKED');
    });
  });

  it('login: an unknown email answers and locks exactly like a known one (no account enumeration)', async () => {
    const org = await signup();
    const unknown = `nobody-${crypto.randomUUID()}@example.com`;
    const run = (email: string) =>
      atAnyPace(async () => {
        const ip = freshIp();
        const out = [];
        for (let i = 0; i < 6; i++) {
          const res = await api('POST', '/api/auth/login', { ip, body: { email, password: `wrong-guess-${i}` } });
          out.push(`${res.status} ${res.json.code} ${res.json.error}`);
        }
        return out;
      });
    const known = await run(org.email);
    expect(await run(unknown)).toEqual(known);
    expect(known.at(-1)).toContain('429 ACCOUNT_LOCKED');
  });

  it('login: one address is limited across emails', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    // The limiter's window is aligned to the clock: past a rollover the count starts again, so allow one.
    for (let i = 0; i < 11 && !statuses.includes(429); i++) {
      statuses.push(
        (await api('POST', '/api/auth/login', { ip, body: { email: `spray-${i}-${crypto.randomUUID()}@example.com`, password: 'wrong-guess-0' } })).status,
      );
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
  });

  it('bearer secrets: wrong API keys, agent, registration and invitation tokens from one address end in 429; right ones still work', async () => {
    const org = await signup();
    const apiKey = await createApiKey(org);
    const project = await createProject(org.token);
    const ip = freshIp();
    const wrong = () => `agx_${crypto.randomUUID().replace(/-/g, '')}`;
    // Every kind of guess draws on the same budget of the address.
    const guesses = [
      () => api('GET', '/api/executions', { ip, apiKey: wrong() }),
      () => api('POST', '/api/ci/trigger', { ip, apiKey: wrong(), body: { projectId: project.id } }),
      () => api('POST', '/api/ingest/event', { ip, apiKey: wrong(), body: { sessionId: 'x', events: [{ type: 'log', chunk: 'x', timestamp: 1 }] } }),
      () => api('POST', '/api/agent/poll', { ip, headers: { authorization: `Bearer agt_${wrong()}` }, body: { capacity: 0, waitMs: 0 } }),
      () => api('POST', '/api/agent/register', { ip, body: { token: `agr_${wrong()}`, name: 'x', arch: 'arm64', os: 'linux', version: '1' } }),
      () => api('GET', `/api/invitations/lookup?token=${wrong()}`, { ip }),
      () => api('POST', '/api/invitations/accept', { ip, body: { token: wrong(), name: 'x', password: PASSWORD } }),
    ];
    const answers: Array<{ status: number; code?: string; retryAfter: string | null }> = [];
    // 20 wrong secrets a minute are allowed; the window is aligned to the clock, so allow one rollover.
    for (let i = 0; i < 41 && !answers.some((a) => a.status === 429); i++) {
      const res = await guesses[i % guesses.length]!();
      answers.push({ status: res.status, code: res.json.code, retryAfter: res.headers.get('retry-after') });
    }
    expect(
      answers
        .slice(0, 20)
        .map((a) => a.status)
        .filter((s) => s !== 401 && s !== 404),
    ).toEqual([]);
    expect(answers.at(-1)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(Number(answers.at(-1)!.retryAfter)).toBeGreaterThan(0);
    // Another address is unaffected, and a right key still works from the guessing one (only wrong ones count).
    expect((await api('GET', '/api/executions', { ip: freshIp(), apiKey: wrong() })).status).toBe(401);
    expect((await api('GET', '/api/executions', { ip, apiKey })).status).toBe(200);
  });

  it('sign-up: one address may create 10 organizations a minute, then 429 (others unaffected)', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    const body = () => ({ email: `flood-${crypto.randomUUID()}@example.com`, password: PASSWORD, name: 'Flood', organizationName: 'Flood Inc' });
    for (let i = 0; i < 21 && !statuses.includes(429); i++) statuses.push((await api('POST', '/api/auth/signup', { ip, body: body() })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(201));
    expect(statuses.at(-1)).toBe(429);
    const limited = await api('POST', '/api/auth/signup', { ip, body: body() });
    if (limited.status === 429) {
      expect(limited.json).toMatchObject({ success: false, code: 'RATE_LIMITED' });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect((await api('POST', '/api/auth/signup', { ip: freshIp(), body: body() })).status).toBe(201);
  });
});

describe('invitation tokens', () => {
  it('answer 410 once used or revoked (lookup and accept), and a parallel double accept creates one account', async () => {
    const admin = await signup();
    const invite = async () =>
      (await api('POST', '/api/invitations', { token: admin.token, body: { email: `i-${crypto.randomUUID()}@example.com`, role: 'developer' } })).json.data;
    const accept = (token: string) => api('POST', '/api/invitations/accept', { body: { token, name: 'New Person', password: 'another-pass-99' } });

    const used = await invite();
    expect((await accept(used.token)).status).toBe(201);
    for (const res of [await accept(used.token), await api('GET', `/api/invitations/lookup?token=${used.token}`)]) {
      expect(res.status).toBe(410);
      expect(res.json).toMatchObject({ success: false, code: 'INVITATION_USED' });
    }
    const revoked = await invite();
    expect((await api('DELETE', `/api/invitations/${revoked.id}`, { token: admin.token })).status).toBe(200);
    for (const res of [await accept(revoked.token), await api('GET', `/api/invitations/lookup?token=${revoked.token}`)]) {
      expect(res.status).toBe(410);
      expect(res.json.code).toBe('INVITATION_REVOKED');
    }

    const raced = await invite();
    const answers = await Promise.all(Array.from({ length: 8 }, () => accept(raced.token)));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
    expect(answers.filter((r) => r.status !== 201).map((r) => [r.status, r.json.code])).toEqual(Array(7).fill([410, 'INVITATION_USED']));
    const members = (await api('GET', '/api/users', { token: admin.token })).json.data as Array<{ email: string }>;
    expect(members.filter((m) => m.email === raced.email)).toHaveLength(1);
  });
});

describe('secret comparison', () => {
  it('stores bearer secrets only as SHA-256 hashes and looks them up by hash', async () => {
    const org = await signup();
    const key = await api('POST', '/api/api-keys', { token: org.token, body: { name: 'k' } });
    const registration = (await api('POST', '/api/agents/registration-tokens', { token: org.token, body: {} })).json.data.token as string;
    const agent = await api('POST', '/api/agent/register', { body: { token: registration, name: 'a', arch: 'arm64', os: 'linux', version: '1' } });
    const invitation = (await api('POST', '/api/invitations', { token: org.token, body: { email: `h-${crypto.randomUUID()}@example.com` } })).json.data;
    const stored = async (sql: string, id: string) => (await env.DB.prepare(sql).bind(id).first<{ h: string }>())!.h;
    const pairs: Array<[string, string]> = [
      [key.json.data.key, await stored('SELECT key_hash AS h FROM api_keys WHERE id = ?', key.json.data.id)],
      [agent.json.data.agentToken, await stored('SELECT token_hash AS h FROM agents WHERE id = ?', agent.json.data.agentId)],
      [registration, await stored('SELECT token_hash AS h FROM agent_registration_tokens WHERE agent_id = ?', agent.json.data.agentId)],
      [invitation.token, await stored('SELECT token_hash AS h FROM invitations WHERE id = ?', invitation.id)],
    ];
    for (const [secret, hash] of pairs) expect(hash).toBe(await sha256Hex(secret));
  });

  it('compares signatures hashed, in constant time, whatever their length; Stripe accepts the right one among several', async () => {
    expect(await secretsEqual('abc', 'abc')).toBe(true);
    expect(await secretsEqual('abc', 'abd')).toBe(false);
    expect(await secretsEqual('abc', 'abcd')).toBe(false);
    expect(await secretsEqual('', 'a')).toBe(false);
    const secret = 'whsec_attack_0123456789';
    const payload = JSON.stringify({ id: `evt_${crypto.randomUUID().replace(/-/g, '')}`, type: 'customer.updated', data: { object: { id: 'cus_x' } } });
    const header = await signStripePayload(secret, payload);
    const [t, v1] = header.split(',');
    const deliver = (signature: string) =>
      app.fetch(
        new Request('http://agnox.test/api/webhooks/stripe', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'stripe-signature': signature, 'cf-connecting-ip': freshIp() },
          body: payload,
        }),
        { ...env, STRIPE_WEBHOOK_SECRET: secret },
        createExecutionContext(),
      );
    const sig = v1!.slice(3);
    expect((await deliver(`${t},v1=${sig.slice(0, 10)}`)).status).toBe(400);
    expect((await deliver(`${t},v1=${sig}00`)).status).toBe(400);
    expect((await deliver(`${t},v1=${'0'.repeat(64)},v1=${sig.slice(1)},v1=${sig}`)).status).toBe(200);
  });
});
