// D1 read replication (the Sessions API). A request that carries a bookmark (x-d1-bookmark) reads
// and writes through a session anchored there, and answers with the session's newest bookmark: a
// client that always sends back the newest one it holds reads at least what it has written, from
// whichever replica is that fresh; the dashboard does. Without a bookmark, list and insight reads
// start a session on any replica (a list a moment stale is fine) and hand out a bookmark; every other
// request uses the plain binding, the primary, so a CLI that creates a run and then reads it back sees
// it. The agent protocol and ingest never use sessions: machine paths, primary only.
import { createMiddleware } from 'hono/factory';
import { sessionDbOf } from '../bindings';
import type { AppEnv } from '../env';
import { ApiError } from '../lib/errors';

export const BOOKMARK_HEADER = 'x-d1-bookmark';
/** D1's bookmarks look like `00000000-0000000c-00000000-000…`; anything of that alphabet and size is passed on. */
const BOOKMARK = /^[\w.:-]{1,200}$/;

/** GET routes whose answer may come from a replica when the caller holds no bookmark. */
const REPLICA_READS = [/^\/api\/executions$/, /^\/api\/insights(\/|$)/, /^\/api\/metrics(\/|$)/];

export const d1Session = createMiddleware<AppEnv>(async (c, next) => {
  const sent = c.req.header(BOOKMARK_HEADER);
  if (sent !== undefined && !BOOKMARK.test(sent))
    throw new ApiError(400, 'INVALID_BOOKMARK', `${BOOKMARK_HEADER} must be a bookmark an earlier answer carried`);
  const anyReplica = c.req.method === 'GET' && REPLICA_READS.some((r) => r.test(c.req.path));
  if (sent === undefined && !anyReplica) return next();
  const { db, bookmark } = sessionDbOf(c.env, sent ?? 'first-unconstrained');
  c.set('db', db);
  await next();
  const latest = bookmark();
  // A WebSocket upgrade's headers cannot change, and it carries nothing to read after.
  if (latest && c.res.status !== 101) c.res.headers.set(BOOKMARK_HEADER, latest);
});
