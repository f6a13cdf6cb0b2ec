// The Hono app: global middleware, then one router per resource. Errors become the JSON envelope.
import { d1Session } from './middleware/d1-session';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { databaseUnavailable, isDatabaseUnavailable, rootMessage } from './lib/db-errors';
import { ApiError, errorBody } from './lib/errors';
import { ok } from './lib/http';
import { corsFromConfig, refuseWhenMisconfigured, securityHeaders } from './middleware/security';
import { openApiDocument } from './openapi';
import { apiKeyRoutes } from './routes/api-keys';
import { authRoutes } from './routes/auth';
import { invitationRoutes } from './routes/invitations';
import { organizationRoutes } from './routes/organization';
import { projectRoutes } from './routes/projects';
import { userRoutes } from './routes/users';
import { agentAdminRoutes } from './routes/agents';
import { agentProtocolRoutes } from './routes/agent-protocol';
import { ciRoutes } from './routes/ci';
import { dbOf } from './bindings';
import { executionRoutes, runRequestRoutes } from './routes/executions';
import { orgLiveRoutes, wsTicketRoutes } from './routes/live';
import { reportRoutes } from './routes/reports';
import { ingestRoutes } from './routes/ingest';
import { scheduleRoutes } from './routes/schedules';
import { billingRoutes } from './routes/billing';
import { usageRoutes } from './routes/usage';
import { webhookRoutes } from './routes/webhooks';
import { insightRoutes } from './routes/insights';
import { metricRoutes } from './routes/metrics';
import { agentQuarantineRoutes, quarantineRoutes } from './routes/quarantines';
import { testCaseRoutes } from './routes/test-cases';
import { testCycleRoutes } from './routes/test-cycles';

export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export const app = new Hono<AppEnv>();

app.use('*', securityHeaders);
// D1 for every route, set once: the plain binding (one drizzle per isolate) for machine paths and
// everything outside the API; the API's people and tools get a read-replication session (below).
app.use('*', async (c, next) => {
  c.set('db', dbOf(c.env));
  await next();
});
app.use('*', refuseWhenMisconfigured);
app.use('/api/*', corsFromConfig);
app.use('/api/*', (c, next) => (/^\/api\/(agent|ingest)\//.test(c.req.path) ? next() : d1Session(c, next)));
const jsonBodyLimit = bodyLimit({
  maxSize: MAX_JSON_BODY_BYTES,
  onError: () => {
    throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${MAX_JSON_BODY_BYTES} bytes`);
  },
});
// Artifact uploads carry files and have their own, larger limit.
app.use('/api/*', (c, next) => (c.req.path.endsWith('/artifacts') && c.req.method === 'PUT' ? next() : jsonBodyLimit(c, next)));

app.get('/api/health', (c) => ok(c, { status: 'ok', time: Date.now() }));
app.get('/api/openapi.json', (c) => c.json(openApiDocument()));
app.route('/api/auth/ws-ticket', wsTicketRoutes);
app.route('/api/auth', authRoutes);
app.route('/api/users', userRoutes);
app.route('/api/invitations', invitationRoutes);
app.route('/api/organization', organizationRoutes);
app.route('/api/api-keys', apiKeyRoutes);
app.route('/api/projects', projectRoutes);
app.route('/api/execution-request', runRequestRoutes);
app.route('/api/executions', executionRoutes);
app.route('/api/ci', ciRoutes);
app.route('/api/ingest', ingestRoutes);
app.route('/api/live', orgLiveRoutes);
app.route('/api/agents', agentAdminRoutes);
app.route('/api/agent/quarantines', agentQuarantineRoutes);
app.route('/api/agent', agentProtocolRoutes);
app.route('/api/schedules', scheduleRoutes);
app.route('/api/usage', usageRoutes);
app.route('/api/billing', billingRoutes);
app.route('/api/webhooks', webhookRoutes);
app.route('/api/test-cases', testCaseRoutes);
app.route('/api/test-cycles', testCycleRoutes);
app.route('/api/quarantines', quarantineRoutes);
app.route('/api/insights', insightRoutes);
app.route('/api/metrics', metricRoutes);
app.route('/reports', reportRoutes);

app.notFound((c) => c.json({ success: false, error: `No route for ${c.req.method} ${c.req.path}`, code: 'NOT_FOUND' }, 404));

app.onError((err, c) => {
  if (err instanceof ApiError) return c.json(errorBody(err), err.status, err.headers);
  if (err instanceof HTTPException) {
    return c.json({ success: false, error: err.message || 'Request failed', code: 'HTTP_ERROR' }, err.status);
  }
  if (isDatabaseUnavailable(err)) {
    console.warn('database unavailable', c.req.method, c.req.path, rootMessage(err));
    const unavailable = databaseUnavailable();
    return c.json(errorBody(unavailable), unavailable.status, unavailable.headers);
  }
  console.error('unhandled error', c.req.method, c.req.path, err instanceof Error ? err.stack : String(err), 'cause:', rootMessage(err));
  return c.json({ success: false, error: 'Internal server error', code: 'INTERNAL' }, 500);
});
