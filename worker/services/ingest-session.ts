// Ingest session ids are signed tokens, so the hot path (`/api/ingest/event`) resolves a session
// without reading D1: the token names the session, its execution and its organization, and
// expires. Format: `is1.<base64url JSON payload>.<base64url HMAC-SHA256>`, keyed by a key derived
// from the JWT secret (so rotating that secret also ends ingest sessions).
import { jwtSecret, type Env } from '../env';

export type SessionClaims = {
  /** ingest_sessions.id */
  sid: string;
  taskId: string;
  organizationId: string;
  projectId: string;
  /** Expiry, epoch ms. */
  exp: number;
};

/** How long a session id stays valid: longer than any test run, shorter than forever. */
export const SESSION_TTL_MS = 72 * 3600 * 1000;

const enc = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

// One imported key per isolate and secret: importKey costs more than the HMAC itself.
let cached: { secret: Uint8Array; key: Promise<CryptoKey> } | undefined;
function signingKey(env: Env): Promise<CryptoKey> {
  const secret = jwtSecret(env);
  if (!cached || cached.secret.length !== secret.length || !cached.secret.every((b, i) => b === secret[i])) {
    const material = new Uint8Array([...enc.encode('agnox-ingest-session:'), ...secret]);
    cached = { secret, key: crypto.subtle.importKey('raw', material, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']) };
  }
  return cached.key;
}

export async function signSession(env: Env, claims: SessionClaims): Promise<string> {
  const payload = b64url(enc.encode(JSON.stringify(claims)));
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', await signingKey(env), enc.encode(`is1.${payload}`)));
  return `is1.${payload}.${b64url(sig)}`;
}

/** The claims of a genuine, unexpired session id; undefined for anything else. */
export async function verifySession(env: Env, token: string, now = Date.now()): Promise<SessionClaims | undefined> {
  const [version, payload, sig] = token.split('.');
  if (version !== 'is1' || !payload || !sig || token.length > 1000) return undefined;
  try {
    const ok = await crypto.subtle.verify('HMAC', await signingKey(env), fromB64url(sig), enc.encode(`is1.${payload}`));
    if (!ok) return undefined;
    const claims = JSON.parse(new TextDecoder().decode(fromB64url(payload))) as SessionClaims;
    if (typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
    return claims;
  } catch {
    return undefined;
  }
}
