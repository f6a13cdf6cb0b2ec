// Cron: auth rows past their use. Revoked session ids and used tickets matter only until the token
// they name expires; login attempts only within the lock's window (login-lock.ts).
import { sql } from 'drizzle-orm';
import type { Db } from '../bindings';
import { revokedTokens } from '../db/schema';
import { purgeLoginAttempts } from './login-lock';

export const purgeExpiredAuthRows = (db: Db, now = Date.now()) =>
  db.batch([db.delete(revokedTokens).where(sql`${revokedTokens.expiresAt} < ${now}`), purgeLoginAttempts(db, now)]);
