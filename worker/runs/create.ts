// Creating a run: shared by the dashboard (execution-request), CI (ci/trigger) and schedules.
// Defaults come from the project and its run settings for the environment; the row starts PENDING
// and the job goes to the Dispatcher of its queue.
import { and, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { JobPayload } from '../../durable-objects/Dispatcher';
import type { CiContext, RunRequestBody } from '../contracts/runs';
import { executions, projectRunSettings, projects } from '../db/schema';
import type { Caller, Env } from '../env';
import { randomToken } from '../lib/crypto';
import { notFound } from '../lib/errors';
import { publishExecution } from '../services/executions';
import { queueName, roomOf, type Db } from '../bindings';
import { endRun } from './lifecycle';
import { enqueueJob } from './queue';
import { assertRunAllowed, countRun } from '../services/plans';

export type Trigger = 'manual' | 'ci' | 'schedule' | 'cycle';

/** Playwright's branded Chrome and Edge builds exist for amd64 only (seed 000, known limitations). */
export const needsAmd64 = (command: string | null, tests: string[]) =>
  /--browser-channel[= ](chrome|msedge)\b|channel\s*[:=]\s*['"]?(chrome|msedge)\b/i.test([command ?? '', ...tests].join(' '));

/**
 * What a run request needs from D1, in one round trip: the project with its run settings for the
 * requested (or default) environment, and the plan's allowance. 404 for a project of another org.
 */
export async function readRunInputs(db: Db, organizationId: string, body: z.output<typeof RunRequestBody>) {
  const [found, allowed] = await Promise.allSettled([
    db
      .select({ project: projects, settings: projectRunSettings })
      .from(projects)
      .leftJoin(
        projectRunSettings,
        and(
          eq(projectRunSettings.projectId, projects.id),
          eq(projectRunSettings.environment, sql`coalesce(${body.environment ?? null}, ${projects.defaultEnvironment})`),
        ),
      )
      .where(and(eq(projects.id, body.projectId), eq(projects.organizationId, organizationId)))
      .limit(1),
    assertRunAllowed(db, organizationId, body.queue), // the plan's runs per month (and concurrent runs on the hosted fleet)
  ]);
  // A missing project wins over the plan's refusal.
  if (found.status === 'rejected') throw found.reason;
  const [joined] = found.value;
  if (!joined) throw notFound('Project');
  if (allowed.status === 'rejected') throw allowed.reason;
  return joined;
}
export type RunInputs = Awaited<ReturnType<typeof readRunInputs>>;

/** `inputs`: readRunInputs for this caller's org and body, when the caller has read them already. */
export async function createRun(
  env: Env,
  db: Db,
  caller: Caller,
  body: z.output<typeof RunRequestBody>,
  opts: { trigger: Trigger; ciContext?: z.output<typeof CiContext>; scheduleId?: string; cycleId?: string; cycleItemId?: string; inputs?: RunInputs },
) {
  const organizationId = caller.organizationId;
  const joined = opts.inputs ?? (await readRunInputs(db, organizationId, body));
  const { project, settings } = joined;
  const environment = body.environment ?? project.defaultEnvironment;
  const command = body.command ?? project.command;
  const tests = body.tests ?? [];
  const labels = { ...body.labels };
  if (needsAmd64(command, tests) && !labels.arch) labels.arch = 'amd64';
  const queue = queueName(body.queue, organizationId);
  const now = Date.now();
  const taskId = `run_${randomToken(20)}`;
  const payload: JobPayload = {
    taskId,
    projectId: project.id,
    image: body.image ?? project.image,
    command,
    tests,
    testFolder: project.testFolder,
    environment,
    baseUrl: body.baseUrl ?? settings?.baseUrl ?? null,
    envVars: { ...settings?.variables, ...body.envVars },
    timeoutSeconds: body.timeoutSeconds ?? project.timeoutSeconds,
    pullPolicy: body.pullPolicy ?? 'if-not-present',
    reportDir: '/reports',
  };
  const row = {
    taskId,
    organizationId,
    projectId: project.id,
    status: 'PENDING' as const,
    source: 'agnox-hosted' as const,
    trigger: opts.trigger,
    environment,
    image: payload.image,
    command,
    tests,
    baseUrl: payload.baseUrl,
    labels,
    queue,
    runConfig: { envVars: body.envVars ?? {}, pullPolicy: payload.pullPolicy, timeoutSeconds: payload.timeoutSeconds, testFolder: project.testFolder },
    ciContext: opts.ciContext ?? null,
    scheduleId: opts.scheduleId ?? null,
    cycleId: opts.cycleId ?? null,
    cycleItemId: opts.cycleItemId ?? null,
    triggeredBy: caller.kind === 'user' ? caller.userId : `api-key:${caller.apiKeyId}`,
    createdAt: now,
    updatedAt: now,
  };
  // The run and its count toward the plan's runs per month, together.
  const [[inserted]] = await db.batch([db.insert(executions).values(row).returning(), countRun(db, organizationId, now)]);
  const queuedOn = body.queue === 'hosted' ? 'the hosted fleet' : "your organization's agents";
  const labelNote = Object.keys(labels).length
    ? ` (labels ${Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`
    : '';
  // The job goes to the queue while the run's room opens, instead of after (one round trip less). The
  // room's init is sent before the job can be claimed, so the agent's "picked up", sent after the claim
  // and a D1 write, reaches the room behind it. The dashboards hear of the run in the background (the
  // hub orders a later ERROR after this PENDING by the rows' updatedAt).
  const opened = roomOf(env, taskId).init({
    taskId,
    organizationId,
    status: 'PENDING',
    lines: [{ stream: 'system', data: `[agnox] run queued on ${queuedOn}${labelNote}\n`, ts: now }],
  });
  publishExecution(env, inserted!);
  try {
    await enqueueJob(env, queue, { organizationId, labels, payload });
  } catch (err) {
    await opened.catch(() => {}); // the room takes ERROR after its init
    // Nothing ran, so there is nothing for the AI to analyse.
    await endRun(env, taskId, 'ERROR', {
      from: ['PENDING'],
      patch: { reason: 'queue_unavailable' },
      note: 'the job queue could not take this run; try again',
      analyze: false,
    });
    throw err;
  }
  await opened;
  return inserted!;
}
