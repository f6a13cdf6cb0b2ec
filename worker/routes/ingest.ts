// The ingest API (`x-api-key`, its own rate tier): seed 004's setup / event / teardown, plus
// attachment uploads. The logic is in services/ingest.ts. A run that has ended refuses events (409
// RUN_ENDED), a deleted one refuses events and a new setup with its runId (410 RUN_DELETED).
import { Hono } from 'hono';
import { AttachmentQuery, EventBatch, MAX_ATTACHMENT_BYTES, SetupBody, TeardownBody } from '../contracts/ingest';
import type { AppEnv, CallerEnv } from '../env';
import { ApiError } from '../lib/errors';
import { ok, readBody, readQuery } from '../lib/http';
import { roomRefused } from '../services/executions';
import { roomOf } from '../bindings';
import { requireIngestKey } from '../middleware/ingest-auth';
import { applyEvents, attachmentPath, resolveSession, setupRun, teardownRun } from '../services/ingest';

const apiKeyCaller = (c: { var: CallerEnv['Variables'] }) => {
  const caller = c.var.caller;
  return { organizationId: caller.organizationId, apiKeyId: caller.kind === 'apiKey' ? caller.apiKeyId : 'unknown' };
};

export const ingestRoutes = new Hono<AppEnv>()
  .use(requireIngestKey)
  .post('/setup', async (c) => {
    const body = await readBody(c, SetupBody);
    const { created, data } = await setupRun(c.env, c.var.db, apiKeyCaller(c), body);
    return ok(c, data, created ? 201 : 200);
  })
  .post('/event', async (c) => {
    const body = await readBody(c, EventBatch);
    const claims = await resolveSession(c.env, c.var.caller.organizationId, body.sessionId);
    return ok(c, await applyEvents(c.env, c.var.db, claims, body, (p) => c.executionCtx.waitUntil(p)));
  })
  .post('/teardown', async (c) => {
    const { sessionId, events, batchId, ...body } = await readBody(c, TeardownBody);
    const claims = await resolveSession(c.env, c.var.caller.organizationId, sessionId);
    if (events) {
      try {
        await applyEvents(c.env, c.var.db, claims, { sessionId, events, batchId }, (p) => c.executionCtx.waitUntil(p));
      } catch (err) {
        // A resent teardown, or a late one completing an orphaned run: the run has ended, so its events
        // are not taken, and the teardown answers as teardowns of ended runs do.
        if (!(err instanceof ApiError && err.code === 'RUN_ENDED')) throw err;
      }
    }
    return ok(c, await teardownRun(c.env, c.var.db, claims, body));
  })
  .post('/attachment', async (c) => {
    const q = readQuery(c, AttachmentQuery);
    const claims = await resolveSession(c.env, c.var.caller.organizationId, q.sessionId);
    // An ended or deleted run takes no more attachments (a deleted run's objects would be left behind for good).
    const [{ closed }, bytes] = await Promise.all([roomOf(c.env, claims.taskId).info(), c.req.arrayBuffer()]);
    if (closed) throw roomRefused(closed);
    if (bytes.byteLength > MAX_ATTACHMENT_BYTES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `An attachment may have at most ${MAX_ATTACHMENT_BYTES} bytes`);
    const path = attachmentPath(q.testId, q.retry, q.name);
    const contentType = c.req.header('content-type')?.slice(0, 200) || 'application/octet-stream';
    await c.env.ARTIFACTS.put(`${claims.organizationId}/${claims.taskId}/${path}`, bytes, { httpMetadata: { contentType } });
    return ok(c, { key: path, size: bytes.byteLength }, 201);
  });
