// Reports and artifacts from R2, served only to members of the run's organization. Everything served
// here runs sandboxed: an opaque origin (no allow-same-origin), so a report's scripts cannot reach the
// dashboard's storage or session; scripts are allowed because Playwright's HTML report is a script
// app; popups, forms and framing are not.
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { notFound } from '../lib/errors';
import { requireUser } from '../middleware/auth';
import { findExecution } from '../services/lookups';

const R2_MAX_KEY_BYTES = 1024;
/** The sandbox of every report file (README, Protection): scripts in an opaque origin, nothing else. */
export const REPORT_CSP = "sandbox allow-scripts; default-src 'self' 'unsafe-inline' data: blob:; frame-ancestors 'none'";

/** The file path from the URL (`index.html` when empty), or null when it is not valid percent-encoding. */
function reportPath(encoded: string): string | null {
  try {
    return decodeURIComponent(encoded) || 'index.html';
  } catch {
    return null;
  }
}

export const reportRoutes = new Hono<AppEnv>().get('/:taskId/*', requireUser, async (c) => {
  const taskId = c.req.param('taskId');
  const row = await findExecution(c.var.db, c.var.caller.organizationId, taskId);
  const path = reportPath(c.req.path.slice(`/reports/${taskId}/`.length));
  const key = `${row.organizationId}/${taskId}/${path}`;
  // No such file can exist for a path that climbs out, is not valid percent-encoding, or is longer than R2 keys may be.
  if (path === null || path.split('/').some((s) => s === '..') || new TextEncoder().encode(key).length > R2_MAX_KEY_BYTES) throw notFound('Report file');
  // A stored report never changes, so a browser revalidating with its ETag gets a bodyless 304.
  const object = await c.env.ARTIFACTS.get(key, { onlyIf: c.req.raw.headers });
  if (!object) throw notFound('Report file');
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('etag', object.httpEtag);
  headers.set('cache-control', 'private, max-age=3600');
  headers.set('last-modified', object.uploaded.toUTCString());
  headers.set('content-security-policy', REPORT_CSP);
  if (!('body' in object)) return new Response(null, { status: 304, headers });
  return new Response(object.body, { headers });
});
