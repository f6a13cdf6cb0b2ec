import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { api, atAnyPace, PASSWORD, signup } from './helpers';

describe('signup, login, logout, me', () => {
  it('signs up an org with its admin and returns a working token', async () => {
    const email = `Founder-${crypto.randomUUID()}@Example.com`;
    const res = await api('POST', '/api/auth/signup', { body: { email, password: PASSWORD, name: 'Founder', organizationName: 'Acme QA' } });
    expect(res.status).toBe(201);
    expect(res.json.data.user).toMatchObject({ email: email.toLowerCase(), role: 'admin' });
    expect(res.json.data.user.passwordHash).toBeUndefined();
    expect(res.json.data.organization.slug).toMatch(/^acme-qa-/);
    const me = await api('GET', '/api/auth/me', { token: res.json.data.token });
    expect(me.status).toBe(200);
    expect(me.json.data.organization.name).toBe('Acme QA');
  });

  it('refuses a duplicate email with 409 and a weak password with 400', async () => {
    const org = await signup();
    const dup = await api('POST', '/api/auth/signup', { body: { email: org.email, password: PASSWORD, name: 'x', organizationName: 'Other' } });
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ success: false, code: 'EMAIL_TAKEN' });
    const weak = await api('POST', '/api/auth/signup', { body: { email: 'w@example.com', password: 'short', name: 'x', organizationName: 'Other' } });
    expect(weak.status).toBe(400);
    expect(weak.json.code).toBe('VALIDATION_ERROR');
    expect(weak.json.error).toContain('at least 10 characters');
  });

  it('stores passwords as salted PBKDF2, never in clear', async () => {
    const org = await signup();
    const row = await env.DB.prepare('SELECT password_hash FROM users WHERE email = ?').bind(org.email).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
  });

  it('logs in with the right password, not with a wrong one', async () => {
    const org = await signup();
    const good = await api('POST', '/api/auth/login', { body: { email: org.email, password: PASSWORD } });
    expect(good.status).toBe(200);
    expect(good.json.data.token).toBeTypeOf('string');
    const bad = await api('POST', '/api/auth/login', { body: { email: org.email, password: 'wrong-password-1' } });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ success: false, code: 'UNAUTHORIZED', error: 'Invalid email or password' });
    const unknown = await api('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: PASSWORD } });
    expect(unknown.status).toBe(401);
  });

  it('revokes the token on logout', async () => {
    const org = await signup();
    expect((await api('POST', '/api/auth/logout', { token: org.token })).status).toBe(200);
    const after = await api('GET', '/api/auth/me', { token: org.token });
    expect(after.status).toBe(401);
    expect(after.json.error).toBe('Token has been revoked');
  });

  it('refuses missing, malformed, tampered and alg:none tokens', async () => {
    const org = await signup();
    expect((await api('GET', '/api/auth/me')).status).toBe(401);
    expect((await api('GET', '/api/auth/me', { token: 'not.a.jwt' })).status).toBe(401);
    const [h, p, s] = org.token.split('.');
    const claims = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/')));
    const forged = btoa(JSON.stringify({ ...claims, role: 'admin', organizationId: 'other' }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    expect((await api('GET', '/api/auth/me', { token: `${h}.${forged}.${s}` })).status).toBe(401);
    const none = btoa(JSON.stringify({ alg: 'none', typ: 'JWT' })).replace(/=+$/, '');
    expect((await api('GET', '/api/auth/me', { token: `${none}.${p}.` })).status).toBe(401);
  });
});

describe('login protection', () => {
  it('locks an address out of an email after 5 failures (429 with Retry-After), even with the right password, until the lock expires', async () => {
    await atAnyPace(async () => {
      const org = await signup();
      const ip = '203.0.113.7';
      for (let i = 0; i < 5; i++) {
        expect((await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: `wrong-pass-${i}` } })).status).toBe(401);
      }
      const locked = await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } });
      expect(locked.status).toBe(429);
      expect(locked.json.code).toBe('ACCOUNT_LOCKED');
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);

      // Let the lock run out: move it into the past, as 15 minutes would.
      await env.DB.prepare('UPDATE login_attempts SET locked_until = ? WHERE email = ? AND client = ?')
        .bind(Date.now() - 1, org.email, ip)
        .run();
      const after = await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } });
      expect(after.status).toBe(200);
      const row = await env.DB.prepare('SELECT * FROM login_attempts WHERE email = ? AND client = ?').bind(org.email, ip).first();
      expect(row).toBeNull();
    });
  });

  it('a guesser locks out only its own address: the owner logs in from another while it is locked', async () => {
    await atAnyPace(async () => {
      const org = await signup();
      const attacker = '203.0.113.66';
      for (let i = 0; i < 6; i++) await api('POST', '/api/auth/login', { ip: attacker, body: { email: org.email, password: `wrong-pass-${i}` } });
      const refused = await api('POST', '/api/auth/login', { ip: attacker, body: { email: org.email, password: PASSWORD } });
      expect(refused.status).toBe(429);
      expect(refused.json.code).toBe('ACCOUNT_LOCKED');
      const owner = await api('POST', '/api/auth/login', { ip: '192.0.2.10', body: { email: org.email, password: PASSWORD } });
      expect(owner.status, JSON.stringify(owner.json)).toBe(200);
      // The attacker's address is still locked.
      expect((await api('POST', '/api/auth/login', { ip: attacker, body: { email: org.email, password: PASSWORD } })).status).toBe(429);
    });
  });

  it('locks the email for an hour after 50 failures across many addresses (a distributed guess stays bounded)', async () => {
    const org = await signup();
    // 55 guesses in parallel, each from its own address: at most 50 passwords are checked.
    const guesses = await Promise.all(
      Array.from({ length: 55 }, (_, i) => api('POST', '/api/auth/login', { body: { email: org.email, password: `wrong-guess-${i}` } })),
    );
    const statuses = guesses.map((g) => g.status);
    expect(statuses.filter((s) => s === 401).length, String(statuses)).toBe(50);
    expect(guesses.filter((g) => g.status !== 401).map((g) => g.json.code)).toEqual(Array(5).fill('ACCOUNT_LOCKED'));
    // A fresh address with the right password is refused too, for about an hour.
    const owner = await api('POST', '/api/auth/login', { body: { email: org.email, password: PASSWORD } });
    expect(owner.status).toBe(429);
    expect(owner.json).toMatchObject({ code: 'ACCOUNT_LOCKED', error: 'Too many failed logins for this account; it is locked for an hour' });
    expect(Number(owner.headers.get('retry-after'))).toBeGreaterThan(59 * 60);
    // Refused attempts from a locked-out address do not count toward the email's limit.
    const other = await signup();
    const ip = '203.0.113.99';
    await atAnyPace(async () => {
      for (let i = 0; i < 60; i++) await api('POST', '/api/auth/login', { ip, body: { email: other.email, password: `wrong-pass-${i}` } });
    });
    const all = await env.DB.prepare("SELECT failures FROM login_attempts WHERE email = ? AND client = '*'").bind(other.email).first<{ failures: number }>();
    expect(all!.failures).toBe(5);
    expect((await api('POST', '/api/auth/login', { body: { email: other.email, password: PASSWORD } })).status).toBe(200);
  });

  it('a success clears the failure count', async () => {
    await atAnyPace(async () => {
      const org = await signup();
      const ip = '203.0.113.8';
      for (let i = 0; i < 4; i++) await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: 'wrong-pass-x1' } });
      expect((await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } })).status).toBe(200);
      for (let i = 0; i < 4; i++) await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: 'wrong-pass-x1' } });
      expect((await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } })).status).toBe(200);
    });
  });

  it('rate-limits login to 5 a minute per client address', async () => {
    const org = await signup();
    // The limiter's windows follow the clock's minutes: a burst that straddles one is tried again.
    let statuses: number[] = [];
    for (let tries = 0; tries < 2; tries++) {
      const ip = `198.51.100.${Math.floor(Math.random() * 250)}`;
      const minute = Math.floor(Date.now() / 60_000);
      statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await api('POST', '/api/auth/login', { ip, body: { email: org.email, password: PASSWORD } })).status);
      if (Math.floor(Date.now() / 60_000) === minute) break;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]).toBe(429);
    // Another address is not affected.
    expect((await api('POST', '/api/auth/login', { body: { email: org.email, password: PASSWORD } })).status).toBe(200);
  });
});
