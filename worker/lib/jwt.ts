// Session tokens: HS256 JWTs (jose), 24 h, revocable by jti.
import { jwtVerify, SignJWT } from 'jose';
import type { Role } from '../db/schema';

export const TOKEN_TTL_SECONDS = 24 * 60 * 60;

export type SessionClaims = { userId: string; organizationId: string; role: Role; jti: string; exp: number };

export async function signSession(secret: Uint8Array, claims: { userId: string; organizationId: string; role: Role }): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${TOKEN_TTL_SECONDS}s`)
    .sign(secret);
}

/** Returns the claims, or null for any bad token (wrong alg, signature, expiry, shape). */
export async function verifySession(secret: Uint8Array, token: string): Promise<SessionClaims | null> {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const { userId, organizationId, role, jti, exp } = payload as Record<string, unknown>;
    if (typeof userId !== 'string' || typeof organizationId !== 'string' || typeof jti !== 'string' || typeof exp !== 'number') return null;
    if (role !== 'admin' && role !== 'developer' && role !== 'viewer') return null;
    return { userId, organizationId, role, jti, exp };
  } catch {
    return null;
  }
}
