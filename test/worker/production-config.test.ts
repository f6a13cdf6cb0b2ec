// A production deployment that kept wrangler.toml's local defaults (or lost a setting) refuses to
// serve: every request answers 503 MISCONFIGURED naming the setting, and the reason is logged once.
import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { app } from '../../worker/app';
import type { Env } from '../../worker/env';

const production = (vars: Partial<Env>): Env => ({
  ...env,
  ENVIRONMENT: 'production',
  JWT_SECRET: 'a-production-secret-of-at-least-32-characters',
  PUBLIC_URL: 'https://agnox.example.com',
  CORS_ORIGINS: 'https://tools.example.com',
  ...vars,
});
const call = (e: Env, path: string, init: RequestInit = {}) =>
  app.fetch(
    new Request(`https://agnox.example.com${path}`, { ...init, headers: { 'cf-connecting-ip': '192.0.2.1', ...init.headers } }),
    e,
    createExecutionContext(),
  );

describe('production configuration', () => {
  it('answers every request 503 MISCONFIGURED naming the setting when PUBLIC_URL or CORS_ORIGINS is local or missing, and logs it once', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const cases: Array<[Partial<Env>, string]> = [
        [{ PUBLIC_URL: 'http://localhost:8787' }, 'PUBLIC_URL is http://localhost:8787'],
        [{ PUBLIC_URL: 'http://127.0.0.1:8787' }, 'PUBLIC_URL is http://127.0.0.1:8787'],
        [{ PUBLIC_URL: '' }, 'PUBLIC_URL is not set'],
        [{ PUBLIC_URL: undefined as unknown as string }, 'PUBLIC_URL is not set'],
        [{ CORS_ORIGINS: 'https://tools.example.com,http://localhost:5173' }, 'CORS_ORIGINS includes http://localhost:5173'],
        [{ CORS_ORIGINS: undefined as unknown as string }, 'CORS_ORIGINS is not set'],
      ];
      for (const [vars, named] of cases) {
        for (const [method, path] of [
          ['GET', '/api/health'],
          ['POST', '/api/auth/login'],
          ['GET', '/api/live'],
          ['GET', '/reports/x/index.html'],
          ['GET', '/api/nope'],
        ]) {
          const res = await call(production(vars), path!, { method });
          expect(res.status, `${JSON.stringify(vars)} ${path}`).toBe(503);
          const body = (await res.json()) as { success: boolean; code: string; error: string };
          expect(body).toMatchObject({ success: false, code: 'MISCONFIGURED' });
          expect(body.error, JSON.stringify(vars)).toContain(named);
        }
      }
      expect(errors.mock.calls.filter((args) => String(args[0]).startsWith('refusing to serve')).length).toBe(1);
    } finally {
      errors.mockRestore();
    }
  });

  it('serves with public settings (CORS_ORIGINS may be empty), and outside production with local ones', async () => {
    for (const e of [production({}), production({ CORS_ORIGINS: '' }), { ...env, ENVIRONMENT: 'development', PUBLIC_URL: 'http://localhost:8787' }]) {
      const res = await call(e, '/api/health');
      expect(res.status, `${e.ENVIRONMENT} ${e.PUBLIC_URL} ${e.CORS_ORIGINS}`).toBe(200);
    }
  });
});
