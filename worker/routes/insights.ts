// Insights (viewer+): whether AI analysis is on, per-project trends, flaky tests, failure fingerprints and
// a run's failures with their history. Computed from D1's daily aggregates and the runs' own results (room or R2); none needs the model.
import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { Fingerprint, FingerprintListQuery, InsightWindowQuery } from '../contracts/insights';
import { executions, organizations } from '../db/schema';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { ok, parse, readQuery } from '../lib/http';
import { requireUser } from '../middleware/auth';
import { analysisLimits } from '../services/analysis';
import { flakyTests } from '../services/flaky';
import { geminiConfig } from '../services/gemini';
import { executionFailures, fingerprintDetail, projectInsights, topFingerprints } from '../services/insights';
import { findProject } from '../services/lookups';

export const insightRoutes = new Hono<AppEnv>()
  .use(requireUser)
  /** What the dashboard says about AI analysis: on, off for lack of a key, or opted out by the org. */
  .get('/ai-status', async (c) => {
    const config = geminiConfig(c.env);
    const [org] = await c.var.db
      .select({ enabled: organizations.aiAnalysisEnabled })
      .from(organizations)
      .where(eq(organizations.id, c.var.caller.organizationId))
      .limit(1);
    const limits = analysisLimits(c.env);
    if (!config) return ok(c, { enabled: false, reason: 'NOT_CONFIGURED', message: 'AI analysis is off: this Agnox installation has no GEMINI_API_KEY' });
    if (!org?.enabled) return ok(c, { enabled: false, reason: 'OPTED_OUT', message: 'AI analysis is turned off for this organization (Settings)' });
    return ok(c, { enabled: true, model: config.model, oneAnalysisPerSeconds: limits.orgIntervalMs / 1000, maxInputTokens: limits.maxInputChars / 4 });
  })
  .get('/projects/:projectId', async (c) => {
    const { days } = readQuery(c, InsightWindowQuery);
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('projectId'));
    return ok(c, await projectInsights(c.env, c.var.caller.organizationId, project.id, days));
  })
  .get('/projects/:projectId/flaky', async (c) => {
    const { days } = readQuery(c, InsightWindowQuery);
    const project = await findProject(c.var.db, c.var.caller.organizationId, c.req.param('projectId'));
    return ok(c, await flakyTests(c.var.db, c.var.caller.organizationId, project.id, Date.now() - days * 86_400_000));
  })
  .get('/fingerprints', async (c) => {
    const q = readQuery(c, FingerprintListQuery);
    if (q.projectId) await findProject(c.var.db, c.var.caller.organizationId, q.projectId);
    return ok(c, await topFingerprints(c.env, c.var.caller.organizationId, q));
  })
  .get('/fingerprints/:fingerprint', async (c) => {
    const fingerprint = parse(Fingerprint, c.req.param('fingerprint'), 'fingerprint');
    const detail = await fingerprintDetail(c.env, c.var.caller.organizationId, fingerprint);
    if (!detail) throw notFound('Fingerprint');
    return ok(c, detail);
  })
  .get('/executions/:taskId/failures', async (c) => {
    const taskId = c.req.param('taskId');
    const [run] = await c.var.db
      .select({ taskId: executions.taskId, analysis: executions.analysis })
      .from(executions)
      .where(and(eq(executions.taskId, taskId), eq(executions.organizationId, c.var.caller.organizationId)))
      .limit(1);
    if (!run) throw notFound('Execution');
    return ok(c, { taskId, analysis: run.analysis, failures: await executionFailures(c.env, c.var.caller.organizationId, taskId) });
  });
