// The login lock. Failed logins are counted per (email, client address) and per email across all
// addresses, each in a window that starts at its first failure:
// - one address: 5 failures within 15 minutes lock that address out of that email for 15 minutes;
//   the owner logging in from another address is not affected (a guesser locks only itself out);
// - all addresses: 50 failures within an hour lock the email for an hour, so a guess spread over many
//   addresses is still bounded.
// An attempt is counted before the password is checked, in one statement per row, so parallel guesses
// cannot all read the same count and slip past the limit; a success takes its count back. Attempts an
// address's lock refuses are not counted against the email, so one locked-out address cannot lock the
// owner out.
import { and, eq, sql } from 'drizzle-orm';
import { loginAttempts } from '../db/schema';
import { tooManyRequests } from '../lib/errors';
import type { Db } from '../bindings';

export type LoginLimit = { max: number; windowMs: number; lockMs: number; message: string };

export const ADDRESS_LIMIT: LoginLimit = {
  max: 5,
  windowMs: 15 * 60 * 1000,
  lockMs: 15 * 60 * 1000,
  message: 'Too many failed logins for this account from this address; try again in 15 minutes',
};
export const EMAIL_LIMIT: LoginLimit = {
  max: 50,
  windowMs: 60 * 60 * 1000,
  lockMs: 60 * 60 * 1000,
  message: 'Too many failed logins for this account; it is locked for an hour',
};
/** The `client` of the row that counts an email's failures from every address. */
export const ALL_ADDRESSES = '*';

type Row = { email: string; client: string };

/** Counts one attempt on a row, starting a fresh window when the last one (or its lock) has run out. */
function count(db: Db, row: Row, limit: LoginLimit, now: number) {
  const c = loginAttempts;
  const lapsed = sql`CASE WHEN ${c.lockedUntil} IS NOT NULL THEN ${c.lockedUntil} <= ${now} ELSE ${c.windowStartedAt} <= ${now - limit.windowMs} END`;
  return db
    .insert(c)
    .values({ ...row, failures: 1, windowStartedAt: now, lockedUntil: null, updatedAt: now })
    .onConflictDoUpdate({
      target: [c.email, c.client],
      set: {
        failures: sql`CASE WHEN ${lapsed} THEN 1 ELSE ${c.failures} + 1 END`,
        windowStartedAt: sql`CASE WHEN ${lapsed} THEN ${now} ELSE ${c.windowStartedAt} END`,
        lockedUntil: sql`CASE WHEN ${lapsed} THEN NULL ELSE ${c.lockedUntil} END`,
        updatedAt: now,
      },
    })
    .returning();
}

/** Throws 429 ACCOUNT_LOCKED when the row is locked, or when more attempts are in flight than allowed. */
function refuseIfLocked(attempt: typeof loginAttempts.$inferSelect | undefined, limit: LoginLimit, now: number) {
  const lockedFor = attempt?.lockedUntil && attempt.lockedUntil > now ? attempt.lockedUntil - now : (attempt?.failures ?? 0) > limit.max ? limit.lockMs : 0;
  if (lockedFor) throw tooManyRequests(lockedFor / 1000, 'ACCOUNT_LOCKED', limit.message);
}

const where = (row: Row) => and(eq(loginAttempts.email, row.email), eq(loginAttempts.client, row.client));

/**
 * Counts a login attempt for `email` from `client` and throws 429 if a lock refuses it. Returns the
 * functions that settle it once the password has been checked.
 */
export async function countLoginAttempt(db: Db, email: string, client: string, now = Date.now()) {
  const address = { email, client };
  const everywhere = { email, client: ALL_ADDRESSES };
  const [fromAddress] = await count(db, address, ADDRESS_LIMIT, now);
  refuseIfLocked(fromAddress, ADDRESS_LIMIT, now);
  const [fromAnywhere] = await count(db, everywhere, EMAIL_LIMIT, now);
  refuseIfLocked(fromAnywhere, EMAIL_LIMIT, now);

  return {
    /** A wrong password: the rows that reached their limit lock. */
    failed: async () => {
      const lock = (row: Row, limit: LoginLimit) =>
        db
          .update(loginAttempts)
          .set({ lockedUntil: now + limit.lockMs, updatedAt: now })
          .where(where(row));
      if ((fromAddress?.failures ?? 0) >= ADDRESS_LIMIT.max) await lock(address, ADDRESS_LIMIT);
      if ((fromAnywhere?.failures ?? 0) >= EMAIL_LIMIT.max) await lock(everywhere, EMAIL_LIMIT);
    },
    /**
     * Statements for a success, to batch with the login's own: the address starts afresh; the email's
     * count takes back this attempt only, so the owner logging in does not reset a distributed guess.
     */
    succeeded: () =>
      [
        db.delete(loginAttempts).where(where(address)),
        db
          .update(loginAttempts)
          .set({ failures: sql`max(${loginAttempts.failures} - 1, 0)` })
          .where(where(everywhere)),
      ] as const,
  };
}

/** Rows whose window and lock have both run out count nothing any more (the cron deletes them). */
export const purgeLoginAttempts = (db: Db, now = Date.now()) =>
  db
    .delete(loginAttempts)
    .where(
      sql`${loginAttempts.windowStartedAt} < ${now - EMAIL_LIMIT.windowMs} AND (${loginAttempts.lockedUntil} IS NULL OR ${loginAttempts.lockedUntil} < ${now})`,
    );
