// D1 allows 100 bound parameters per statement: long `IN (…)` lists are split.

/** Ids per `IN (…)` list, leaving room for the statement's other parameters (organization, status…). */
export const MAX_IDS_PER_STATEMENT = 90;

export function chunks<T>(items: readonly T[], size = MAX_IDS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
