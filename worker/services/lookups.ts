// A project or run by id, within the caller's org. Another org's id (or no such id) is 404, the same
// answer either way, so ids of other orgs cannot be probed.
import { and, eq } from 'drizzle-orm';
import type { Db } from '../bindings';
import { executions, projects } from '../db/schema';
import { notFound } from '../lib/errors';
import type { ExecutionRow } from './executions';

export async function findProject(db: Db, organizationId: string, id: string) {
  const [project] = await db
    .select()
    .from(projects)
    .where(and(eq(projects.id, id), eq(projects.organizationId, organizationId)))
    .limit(1);
  if (!project) throw notFound('Project');
  return project;
}

/**
 * A list filtered by `projectId` names that project: another org's (or no such) project answers 404,
 * like every foreign id, not an empty list. Run alongside the list query, it costs no round trip.
 */
export const projectFilterExists = (db: Db, organizationId: string, projectId: string | undefined) =>
  projectId ? findProject(db, organizationId, projectId) : undefined;

export async function findExecution(db: Db, organizationId: string, taskId: string): Promise<ExecutionRow> {
  const [row] = await db
    .select()
    .from(executions)
    .where(and(eq(executions.taskId, taskId), eq(executions.organizationId, organizationId)))
    .limit(1);
  if (!row) throw notFound('Execution');
  return row;
}
