// Security headers and CORS for every response the Worker produces (static assets carry their own
// headers through web/public/_headers), which origins are trusted with the session cookie, and the
// refusal to serve a production deployment left with local settings.
import { BOOKMARK_HEADER } from './d1-session';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import { cors } from 'hono/cors';
import { productionMisconfiguration, type AppEnv, type Env } from '../env';
import { ApiError } from '../lib/errors';

const SECURITY_HEADERS: Record<string, string> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains; preload',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status === 101) return; // a WebSocket handshake: nothing to add, and its headers are fixed
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  }
};

const corsOrigins = (env: Env) =>
  (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

/** Origins trusted with the session cookie: the control plane's own (PUBLIC_URL) and those in CORS_ORIGINS. */
export function trustedOrigin(env: Env, origin: string | undefined): boolean {
  if (!origin) return false;
  let own: string | undefined;
  try {
    own = new URL(env.PUBLIC_URL).origin;
  } catch {
    /* unset or not a URL: only CORS_ORIGINS */
  }
  return origin === own || corsOrigins(env).includes(origin);
}

export const corsFromConfig: MiddlewareHandler<AppEnv> = (c, next) =>
  cors({
    origin: (origin) => (corsOrigins(c.env).includes(origin) ? origin : null),
    allowHeaders: ['Content-Type', 'Authorization', 'x-api-key'],
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    exposeHeaders: ['Retry-After', BOOKMARK_HEADER],
    maxAge: 600,
    credentials: true,
  })(c, next);

let misconfigurationLogged = false;

/** A production deployment with local or missing settings answers every request 503 MISCONFIGURED, naming the setting. */
export const refuseWhenMisconfigured: MiddlewareHandler<AppEnv> = async (c, next) => {
  const problem = productionMisconfiguration(c.env);
  if (!problem) return next();
  if (!misconfigurationLogged) {
    misconfigurationLogged = true;
    console.error(`refusing to serve: ${problem}`);
  }
  return c.json({ success: false, error: `This deployment is misconfigured: ${problem}`, code: 'MISCONFIGURED' }, 503);
};

/** A WebSocket endpoint answers anything but an upgrade with 426, before any lookup. */
export const requireWebSocket = createMiddleware(async (c, next) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new ApiError(426, 'UPGRADE_REQUIRED', 'This endpoint is a WebSocket');
  await next();
});
