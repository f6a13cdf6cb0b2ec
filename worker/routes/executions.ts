// Runs: request one, list and read them (detail, log, tests, artifacts), cancel, bulk actions, and
// the live WebSocket of one run's room.
import { and, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { BulkBody, ExecutionListQuery, LiveQuery, LogsQuery, RunRequestBody } from '../contracts/runs';
import { executions } from '../db/schema';
import type { AppEnv } from '../env';
import { chunks } from '../lib/d1';
import { ApiError } from '../lib/errors';
import { ok, readBody, readQuery, relay } from '../lib/http';
import { assertRole, requireRole, requireUserOrApiKey, sessionClaims, userCaller } from '../middleware/auth';
import { authenticateLive, liveHolderParams } from '../middleware/live-auth';
import { cancelRun, deleteRuns } from '../runs/cancel';
import { runSearch } from '../services/execution-search';
import { executionSummary, runNameOf } from '../services/executions';
import { roomOf } from '../bindings';
import { createRun, readRunInputs } from '../runs/create';
import { findExecution, projectFilterExists } from '../services/lookups';
import { runResults } from '../services/run-results';
import { requireWebSocket } from '../middleware/security';

const encodeCursor = (row: { createdAt: number; taskId: string }) => btoa(`${row.createdAt}:${row.taskId}`);
function decodeCursor(cursor: string): { createdAt: number; taskId: string } {
  try {
    const [at, ...rest] = atob(cursor).split(':');
    const createdAt = Number(at);
    if (!Number.isFinite(createdAt) || !rest.length) throw new Error();
    return { createdAt, taskId: rest.join(':') };
  } catch {
    throw new ApiError(400, 'INVALID_CURSOR', 'cursor is not one this API returned');
  }
}

export const runRequestRoutes = new Hono<AppEnv>()
  // Authentication and the run's reads go out together, one D1 round trip rather than two (dispatch
  // latency is a sum of round trips). The reads are scoped to the org the signed token names, and
  // neither their results nor their errors are used before the caller is confirmed: an unrevoked
  // session of a developer of that org. Errors come in requireUser → requireRole → body order.
  .post('/', async (c) => {
    const claims = await sessionClaims(c);
    const body = readBody(c, RunRequestBody);
    const [caller, parsed, inputs] = await Promise.allSettled([
      userCaller(c, claims),
      body,
      body.then((b) => readRunInputs(c.var.db, claims.organizationId, b)),
    ]);
    if (caller.status === 'rejected') throw caller.reason;
    assertRole(caller.value, 'developer');
    if (parsed.status === 'rejected') throw parsed.reason;
    if (inputs.status === 'rejected') throw inputs.reason;
    const row = await createRun(c.env, c.var.db, caller.value, parsed.value, { trigger: 'manual', inputs: inputs.value });
    return ok(c, { taskId: row.taskId, status: row.status }, 201);
  });

export const executionRoutes = new Hono<AppEnv>()
  // The live socket authenticates itself (ticket or cookie): browsers cannot set headers on WebSockets.
  .get('/:taskId/live', requireWebSocket, async (c) => {
    const query = readQuery(c, LiveQuery);
    const taskId = c.req.param('taskId');
    const caller = await authenticateLive(c, query.ticket, taskId);
    // The room answers 404 itself for another org's run or a deleted one.
    const url = liveHolderParams(new URL('http://room/viewer'), caller);
    url.searchParams.set('since', String(query.since));
    url.searchParams.set('task', taskId);
    return relay(await roomOf(c.env, taskId).fetch(url, { headers: { upgrade: 'websocket' } }));
  })
  .use(requireUserOrApiKey)
  .get('/', async (c) => {
    const q = readQuery(c, ExecutionListQuery);
    const filters: SQL[] = [eq(executions.organizationId, c.var.caller.organizationId)];
    if (q.status) filters.push(inArray(executions.status, q.status));
    if (q.source) filters.push(eq(executions.source, q.source));
    if (q.projectId) filters.push(eq(executions.projectId, q.projectId));
    if (q.environment) filters.push(eq(executions.environment, q.environment));
    if (q.q) filters.push(runSearch(q.q));
    if (q.cursor) {
      const cur = decodeCursor(q.cursor);
      filters.push(or(lt(executions.createdAt, cur.createdAt), and(eq(executions.createdAt, cur.createdAt), lt(executions.taskId, cur.taskId)))!);
    }
    const [rows] = await Promise.all([
      c.var.db
        .select()
        .from(executions)
        .where(and(...filters))
        .orderBy(desc(executions.createdAt), desc(executions.taskId))
        .limit(q.limit + 1),
      projectFilterExists(c.var.db, c.var.caller.organizationId, q.projectId),
    ]);
    const page = rows.slice(0, q.limit);
    return ok(c, { items: page.map(executionSummary), nextCursor: rows.length > q.limit ? encodeCursor(page.at(-1)!) : null });
  })
  .get('/:taskId', async (c) => {
    const row = await findExecution(c.var.db, c.var.caller.organizationId, c.req.param('taskId'));
    const { runConfig, ...rest } = row;
    return ok(c, { ...rest, name: runNameOf(row), envVars: runConfig?.envVars ?? {}, timeoutSeconds: runConfig?.timeoutSeconds ?? null });
  })
  .get('/:taskId/logs', async (c) => {
    const q = readQuery(c, LogsQuery);
    const row = await findExecution(c.var.db, c.var.caller.organizationId, c.req.param('taskId'));
    return ok(c, await roomOf(c.env, row.taskId).readLogs(q.since, q.limit));
  })
  .get('/:taskId/tests', async (c) => {
    const row = await findExecution(c.var.db, c.var.caller.organizationId, c.req.param('taskId'));
    return ok(c, await runResults(c.env, row));
  })
  .get('/:taskId/artifacts', async (c) => {
    const row = await findExecution(c.var.db, c.var.caller.organizationId, c.req.param('taskId'));
    const prefix = `${row.organizationId}/${row.taskId}/`;
    const listed = await c.env.ARTIFACTS.list({ prefix, limit: 1000, include: ['httpMetadata'] });
    return ok(
      c,
      listed.objects.map((o) => {
        const path = o.key.slice(prefix.length);
        return {
          path,
          size: o.size,
          contentType: o.httpMetadata?.contentType ?? 'application/octet-stream',
          uploadedAt: o.uploaded.getTime(),
          url: `/reports/${row.taskId}/${path}`,
        };
      }),
    );
  })
  .post('/:taskId/cancel', requireRole('developer'), async (c) => {
    const row = await findExecution(c.var.db, c.var.caller.organizationId, c.req.param('taskId'));
    return ok(c, await cancelRun(c.env, row));
  })
  .post('/bulk', requireRole('developer'), async (c) => {
    const body = await readBody(c, BulkBody);
    const rows = (
      await Promise.all(
        chunks([...new Set(body.taskIds)]).map((ids) =>
          c.var.db
            .select()
            .from(executions)
            .where(and(eq(executions.organizationId, c.var.caller.organizationId), inArray(executions.taskId, ids))),
        ),
      )
    ).flat();
    const found = new Map(rows.map((r) => [r.taskId, r]));
    const missing = body.taskIds.filter((id) => !found.has(id)).map((taskId) => ({ taskId, ok: false, code: 'NOT_FOUND' }));
    const results =
      body.action === 'cancel'
        ? await Promise.all(
            rows.map(async (r) => {
              try {
                return { taskId: r.taskId, ok: true, ...(await cancelRun(c.env, r)) };
              } catch (err) {
                return { taskId: r.taskId, ok: false, code: err instanceof ApiError ? err.code : 'INTERNAL' };
              }
            }),
          )
        : await deleteRuns(c.env, c.var.db, rows);
    return ok(c, { action: body.action, results: [...results, ...missing] });
  });
