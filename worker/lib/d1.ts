// D1 allows 100 bound parameters per statement: long `IN (…)` lists are split. And raw SQL statements
// that can go in a drizzle batch.
import type { SQL } from 'drizzle-orm';
import type { Db } from '../bindings';

/** Ids per `IN (…)` list, leaving room for the statement's other parameters (organization, status…). */
export const MAX_IDS_PER_STATEMENT = 90;

export function chunks<T>(items: readonly T[], size = MAX_IDS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * A raw statement for db.batch: drizzle's D1 batch binds a raw statement's parameters to a prepared
 * statement (`stmt`) that db.run never makes, so this one carries it.
 */
export function batchable(db: Db, query: SQL) {
  const raw = db.run(query);
  const stmt = db.$client.prepare(raw.getQuery().sql);
  return Object.assign(raw, { _prepare: () => Object.assign(raw, { stmt }) });
}
