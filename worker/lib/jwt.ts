// Session tokens: HS256 JWTs (jose), 24 h, revocable by jti. WebSocket tickets are JWTs too, with
// another audience, 60 s and single use, so neither can stand in for the other.
import { jwtVerify, SignJWT } from 'jose';
import type { Role } from '../db/schema';

export const TOKEN_TTL_SECONDS = 24 * 60 * 60;
export const WS_TICKET_TTL_SECONDS = 60;
const SESSION_AUDIENCE = 'agnox:session';
const WS_AUDIENCE = 'agnox:ws';

export type SessionClaims = { userId: string; organizationId: string; role: Role; jti: string; exp: number };
/** `sid`: the jti of the session the ticket was traded for, so that logging out also ends its tickets. */
export type WsTicketClaims = { organizationId: string; subject: string; taskId?: string; sid?: string; jti: string; exp: number };

const sign = (secret: Uint8Array, claims: Record<string, unknown>, audience: string, ttlSeconds: number) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(crypto.randomUUID())
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(secret);

async function verify(secret: Uint8Array, token: string, audience: string): Promise<Record<string, unknown> | null> {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], audience });
    return payload as Record<string, unknown>;
  } catch {
    return null;
  }
}

export const signSession = (secret: Uint8Array, claims: { userId: string; organizationId: string; role: Role }) =>
  sign(secret, claims, SESSION_AUDIENCE, TOKEN_TTL_SECONDS);

/** Returns the claims, or null for any bad token (wrong alg, audience, signature, expiry, shape). */
export async function verifySession(secret: Uint8Array, token: string): Promise<SessionClaims | null> {
  const p = await verify(secret, token, SESSION_AUDIENCE);
  if (!p) return null;
  const { userId, organizationId, role, jti, exp } = p;
  if (typeof userId !== 'string' || typeof organizationId !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') return null;
  if (role !== 'admin' && role !== 'developer' && role !== 'viewer') return null;
  return { userId, organizationId, role, jti, exp };
}

export const signWsTicket = (secret: Uint8Array, claims: { organizationId: string; subject: string; taskId?: string; sid?: string }) =>
  sign(secret, claims, WS_AUDIENCE, WS_TICKET_TTL_SECONDS);

export async function verifyWsTicket(secret: Uint8Array, token: string): Promise<WsTicketClaims | null> {
  const p = await verify(secret, token, WS_AUDIENCE);
  if (!p) return null;
  const { organizationId, subject, taskId, sid, jti, exp } = p;
  if (typeof organizationId !== 'string' || typeof subject !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') return null;
  if ((taskId !== undefined && typeof taskId !== 'string') || (sid !== undefined && typeof sid !== 'string')) return null;
  return { organizationId, subject, taskId, sid, jti, exp };
}
