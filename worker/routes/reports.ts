// Reports and artifacts from R2, served only to members of the run's organization. HTML reports
// run sandboxed (a unique origin), so a report's scripts cannot reach the dashboard's session.
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { requireUser } from '../middleware/auth';
import { findExecution } from './executions';

export const reportRoutes = new Hono<AppEnv>()
  .get('/:taskId/*', requireUser, async (c) => {
    const taskId = c.req.param('taskId');
    const row = await findExecution(c.var.db, c.var.caller.organizationId, taskId);
    const path = decodeURIComponent(c.req.path.slice(`/reports/${taskId}/`.length)) || 'index.html';
    if (path.split('/').some((s) => s === '..')) throw notFound('Report file');
    // A stored report never changes, so a browser revalidating with its ETag gets a bodyless 304.
    const object = await c.env.ARTIFACTS.get(`${row.organizationId}/${taskId}/${path}`, { onlyIf: c.req.raw.headers });
    if (!object) throw notFound('Report file');
    const headers = new Headers();
    object.writeHttpMetadata(headers);
    headers.set('etag', object.httpEtag);
    headers.set('cache-control', 'private, max-age=3600');
    headers.set('last-modified', object.uploaded.toUTCString());
    headers.set('content-security-policy', "sandbox allow-scripts allow-popups; default-src 'self' 'unsafe-inline' data: blob:");
    if (!('body' in object)) return new Response(null, { status: 304, headers });
    return new Response(object.body, { headers });
  });
