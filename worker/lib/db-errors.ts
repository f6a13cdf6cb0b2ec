// D1 failures that say nothing about the request itself: the database is locked, overloaded or
// briefly unreachable. The API answers them 503 DATABASE_UNAVAILABLE with Retry-After, so that
// clients (the agent, the reporter, CI scripts) retry instead of giving up on a 500.
import { ApiError } from './errors';

/** Messages of D1 errors that Cloudflare documents as transient, SQLite's busy/locked, and a read-replication session that cannot reach the primary (seen under a lock locally). */
const TRANSIENT =
  /database is locked|Failed to get session commit token|SQLITE_BUSY|SQLITE_LOCKED|D1 DB is overloaded|Network connection lost|storage caused object to be reset|object to be reset|transient issue|storage operation exceeded timeout|D1_ERROR.*timed? ?out/i;

/** Whether `err`, or an error in its `cause` chain (drizzle wraps D1's errors, its own message being the SQL), matches `pattern`. */
function causedBy(err: unknown, pattern: RegExp): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (pattern.test(String((e as { message?: unknown }).message ?? e))) return true;
  }
  return false;
}

/** A transient D1 failure: answered 503 so that clients retry. */
export const isDatabaseUnavailable = (err: unknown) => causedBy(err, TRANSIENT);

/** A write that broke a UNIQUE index. */
export const isUniqueViolation = (err: unknown) => causedBy(err, /UNIQUE constraint failed/);

export const RETRY_AFTER_SECONDS = 2;

export const databaseUnavailable = () =>
  new ApiError(503, 'DATABASE_UNAVAILABLE', 'The database is briefly unavailable; retry in a few seconds', {}, { 'Retry-After': String(RETRY_AFTER_SECONDS) });

/** The innermost message of an error chain, for logs. */
export function rootMessage(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; (e as { cause?: unknown })?.cause && depth < 5; depth++) e = (e as { cause?: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
