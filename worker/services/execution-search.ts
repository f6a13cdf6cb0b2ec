// Finding runs by text: the run's name (the reporter's runName), its branch or its commit, as a
// case-insensitive substring. SQLite's lower() folds ASCII only, on both sides, so an exact match always matches.
import { sql, type SQL } from 'drizzle-orm';
import { executions } from '../db/schema';

const SEARCHED = [
  sql`json_extract(${executions.ingestMeta}, '$.runName')`,
  sql`json_extract(${executions.ciContext}, '$.branch')`,
  sql`json_extract(${executions.ciContext}, '$.commitSha')`,
];

export function runSearch(text: string): SQL {
  // instr rather than LIKE: the text's % and _ are plain characters, nothing to escape.
  return sql`(${sql.join(
    SEARCHED.map((field) => sql`instr(lower(${field}), lower(${text})) > 0`),
    sql` OR `,
  )})`;
}
