// The Worker's side of secret masking (defence in depth: the agent masks first). A project's secrets are
// its run settings' secretVariables, of every environment: a value secret in one environment is masked
// in every run of the project, and runs without an environment (ingest) are masked all the same.
import { TtlCache } from '../lib/ttl-cache';
import { and, eq } from 'drizzle-orm';
import { executions, projectRunSettings } from '../db/schema';
import { SecretMasker } from '../lib/secret-masker';
import type { Db } from '../bindings';

type SecretRows = Array<{ secrets: Record<string, string> | null }>;
const valuesOf = (rows: SecretRows) => rows.flatMap((r) => Object.values(r.secrets ?? {}));
const maskerOf = (rows: SecretRows) => new SecretMasker(valuesOf(rows));

/** Every secret value of the project (all environments). */
export async function projectSecretValues(db: Db, organizationId: string, projectId: string): Promise<string[]> {
  const rows = await db
    .select({ secrets: projectRunSettings.secretVariables })
    .from(projectRunSettings)
    .where(and(eq(projectRunSettings.projectId, projectId), eq(projectRunSettings.organizationId, organizationId)));
  return valuesOf(rows);
}

export async function projectSecretMasker(db: Db, organizationId: string, projectId: string): Promise<SecretMasker> {
  return new SecretMasker(await projectSecretValues(db, organizationId, projectId));
}

/** The masker of a run's project, looked up by the run (one query). */
export async function runSecretMasker(db: Db, organizationId: string, taskId: string): Promise<SecretMasker> {
  const rows = await db
    .select({ secrets: projectRunSettings.secretVariables })
    .from(executions)
    .innerJoin(
      projectRunSettings,
      and(eq(projectRunSettings.projectId, executions.projectId), eq(projectRunSettings.organizationId, executions.organizationId)),
    )
    .where(and(eq(executions.taskId, taskId), eq(executions.organizationId, organizationId)));
  return maskerOf(rows);
}

// Live ingest batches arrive every second or so per run: their masker is kept per isolate for a short
// while instead of a D1 read (and a regex build) per batch. A secret added meanwhile is still masked in
// the results the teardown writes, which read the secrets afresh.
const live = new TtlCache<SecretMasker>(30_000, 1_000);

export function liveProjectSecretMasker(db: Db, organizationId: string, projectId: string, now = Date.now()): Promise<SecretMasker> {
  return live.get(`${organizationId}/${projectId}`, () => projectSecretMasker(db, organizationId, projectId), now);
}
