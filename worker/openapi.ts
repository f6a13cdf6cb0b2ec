// The public API as an OpenAPI 3.1 document, generated from the same zod schemas the routes validate with.
import { z } from 'zod';
import * as auth from './contracts/auth';
import * as agent from './contracts/agent';
import * as agentsAdmin from './contracts/agents-admin';
import * as projects from './contracts/projects';
import * as runs from './contracts/runs';
import * as ingest from './contracts/ingest';
import * as schedules from './contracts/schedules';
import * as quarantine from './contracts/quarantine';
import * as testCases from './contracts/test-cases';
import * as cycles from './contracts/cycles';
import * as billing from './contracts/billing';

type Auth = 'public' | 'jwt' | 'apiKey' | 'agent';
type Operation = { method: string; path: string; summary: string; auth: Auth; role?: 'viewer' | 'developer' | 'admin'; body?: z.ZodType; tag: string };

/** Every route, in one list; contracts added by later features register here too. */
export const operations: Operation[] = [
  { method: 'get', path: '/api/health', summary: 'Liveness', auth: 'public', tag: 'meta' },
  { method: 'post', path: '/api/auth/signup', summary: 'Create an organization and its first admin (10/min per IP)', auth: 'public', body: auth.SignupBody, tag: 'auth' },
  { method: 'post', path: '/api/auth/login', summary: 'Log in (5/min per IP; 5 failures lock that IP out of the email for 15 min; 50 from all IPs lock the email for 1 h)', auth: 'public', body: auth.LoginBody, tag: 'auth' },
  { method: 'post', path: '/api/auth/logout', summary: 'Revoke this session token', auth: 'jwt', role: 'viewer', tag: 'auth' },
  { method: 'get', path: '/api/auth/me', summary: 'The caller and its organization', auth: 'jwt', role: 'viewer', tag: 'auth' },
  { method: 'get', path: '/api/users', summary: 'List members', auth: 'jwt', role: 'viewer', tag: 'organization' },
  { method: 'patch', path: '/api/users/{id}', summary: 'Change a member\'s role', auth: 'jwt', role: 'admin', body: auth.UserUpdateBody, tag: 'organization' },
  { method: 'delete', path: '/api/users/{id}', summary: 'Remove a member', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'get', path: '/api/invitations', summary: 'List invitations', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'post', path: '/api/invitations', summary: 'Invite by email (answers with the accept link, shown once); one pending per email (409 INVITATION_PENDING); 20 emails/h per org, 3/day per recipient (429 INVITATION_LIMIT)', auth: 'jwt', role: 'admin', body: auth.InvitationCreateBody, tag: 'organization' },
  { method: 'delete', path: '/api/invitations/{id}', summary: 'Revoke an invitation', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'get', path: '/api/invitations/lookup', summary: 'What an invitation link is for (?token); 410 when used, revoked or expired', auth: 'public', tag: 'organization' },
  { method: 'get', path: '/api/invitations/outbox', summary: 'Emails sent to the org\'s invitees (development outbox and delivery records)', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'post', path: '/api/invitations/accept', summary: 'Accept an invitation and create the account', auth: 'public', body: auth.InvitationAcceptBody, tag: 'organization' },
  { method: 'get', path: '/api/organization', summary: 'The organization (the Slack webhook URL for admins; others see slackWebhookConfigured)', auth: 'jwt', role: 'viewer', tag: 'organization' },
  { method: 'patch', path: '/api/organization', summary: 'Update name, AI opt-out, Slack webhook', auth: 'jwt', role: 'admin', body: auth.OrganizationUpdateBody, tag: 'organization' },
  { method: 'get', path: '/api/organization/audit-logs', summary: 'Latest admin actions', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'get', path: '/api/api-keys', summary: 'List API keys by prefix', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'post', path: '/api/api-keys', summary: 'Create an API key (shown once)', auth: 'jwt', role: 'admin', body: auth.ApiKeyCreateBody, tag: 'organization' },
  { method: 'delete', path: '/api/api-keys/{id}', summary: 'Revoke an API key', auth: 'jwt', role: 'admin', tag: 'organization' },
  { method: 'get', path: '/api/projects', summary: 'List projects', auth: 'jwt', role: 'viewer', tag: 'projects' },
  { method: 'post', path: '/api/projects', summary: 'Create a project', auth: 'jwt', role: 'developer', body: projects.ProjectCreateBody, tag: 'projects' },
  { method: 'get', path: '/api/projects/{id}', summary: 'A project', auth: 'jwt', role: 'viewer', tag: 'projects' },
  { method: 'patch', path: '/api/projects/{id}', summary: 'Update a project', auth: 'jwt', role: 'developer', body: projects.ProjectUpdateBody, tag: 'projects' },
  { method: 'delete', path: '/api/projects/{id}', summary: 'Delete a project', auth: 'jwt', role: 'developer', tag: 'projects' },
  { method: 'get', path: '/api/projects/{id}/run-settings', summary: 'Run settings per environment (secrets masked)', auth: 'jwt', role: 'viewer', tag: 'projects' },
  { method: 'put', path: '/api/projects/{id}/run-settings/{environment}', summary: 'Set an environment\'s base URL and variables', auth: 'jwt', role: 'developer', body: projects.RunSettingsBody, tag: 'projects' },
  { method: 'delete', path: '/api/projects/{id}/run-settings/{environment}', summary: 'Remove an environment\'s settings', auth: 'jwt', role: 'developer', tag: 'projects' },
  { method: 'post', path: '/api/execution-request', summary: 'Queue a run (201 {taskId})', auth: 'jwt', role: 'developer', body: runs.RunRequestBody, tag: 'runs' },
  { method: 'post', path: '/api/ci/trigger', summary: 'Queue a run from CI, with its CI context', auth: 'apiKey', body: runs.CiTriggerBody, tag: 'runs' },
  { method: 'get', path: '/api/executions', summary: 'List runs, newest first (?status&source&projectId&environment&q&limit&cursor; q: text in the name, branch or commit)', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'get', path: '/api/executions/{taskId}', summary: 'A run', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'get', path: '/api/executions/{taskId}/logs', summary: 'Stored log after ?since=N', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'get', path: '/api/executions/{taskId}/tests', summary: 'Per-test results (every attempt)', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'get', path: '/api/executions/{taskId}/artifacts', summary: 'Reports and artifacts', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'post', path: '/api/executions/{taskId}/cancel', summary: 'Cancel a run', auth: 'jwt', role: 'developer', tag: 'runs' },
  { method: 'post', path: '/api/executions/bulk', summary: 'Cancel or delete many runs', auth: 'jwt', role: 'developer', body: runs.BulkBody, tag: 'runs' },
  { method: 'post', path: '/api/auth/ws-ticket', summary: 'A single-use, 60 s ticket for a live WebSocket', auth: 'jwt', role: 'viewer', body: auth.WsTicketBody, tag: 'live' },
  { method: 'get', path: '/api/executions/{taskId}/live', summary: 'WebSocket: one run\'s log and results (?ticket&since; the session cookie needs a trusted Origin, else 403 ORIGIN_NOT_ALLOWED)', auth: 'public', tag: 'live' },
  { method: 'get', path: '/api/live', summary: 'WebSocket: the org\'s execution-updated stream (?ticket; the session cookie needs a trusted Origin, else 403 ORIGIN_NOT_ALLOWED)', auth: 'public', tag: 'live' },
  { method: 'get', path: '/api/agents', summary: 'Agents with online state', auth: 'jwt', role: 'viewer', tag: 'agents' },
  { method: 'post', path: '/api/agents/registration-tokens', summary: 'A one-time registration token and install command', auth: 'jwt', role: 'admin', body: agentsAdmin.RegistrationTokenBody, tag: 'agents' },
  { method: 'patch', path: '/api/agents/{id}', summary: 'Disable or enable an agent', auth: 'jwt', role: 'admin', body: agentsAdmin.AgentUpdateBody, tag: 'agents' },
  { method: 'delete', path: '/api/agents/{id}', summary: 'Remove an agent', auth: 'jwt', role: 'admin', tag: 'agents' },
  { method: 'post', path: '/api/agent/register', summary: 'Agent: trade a registration token for an agent token', auth: 'public', body: agent.RegisterBody, tag: 'agent protocol' },
  { method: 'post', path: '/api/agent/poll', summary: 'Agent: long poll for a job (≤ 25 s; 204 when none)', auth: 'agent', body: agent.PollBody, tag: 'agent protocol' },
  { method: 'post', path: '/api/agent/jobs/{taskId}/heartbeat', summary: 'Agent: renew the lease; answers {cancel}', auth: 'agent', body: agent.HeartbeatBody, tag: 'agent protocol' },
  { method: 'get', path: '/api/agent/jobs/{taskId}/stream', summary: 'Agent: WebSocket for log chunks (acks)', auth: 'agent', tag: 'agent protocol' },
  { method: 'post', path: '/api/agent/jobs/{taskId}/logs', summary: 'Agent: log chunks over HTTP (fallback)', auth: 'agent', body: agent.AgentLogFrame, tag: 'agent protocol' },
  { method: 'put', path: '/api/agent/jobs/{taskId}/artifacts', summary: 'Agent: upload one report file (?path=)', auth: 'agent', tag: 'agent protocol' },
  { method: 'post', path: '/api/agent/jobs/{taskId}/complete', summary: 'Agent: final status, exit code, test results', auth: 'agent', body: agent.CompleteBody, tag: 'agent protocol' },
  { method: 'get', path: '/reports/{taskId}/{path}', summary: 'A stored report or artifact (members of the org)', auth: 'jwt', role: 'viewer', tag: 'runs' },
  { method: 'post', path: '/api/ingest/setup', summary: 'Start (or join, by runId) an external CI run: execution, test cycle and session', auth: 'apiKey', body: ingest.SetupBody, tag: 'ingest' },
  { method: 'post', path: '/api/ingest/event', summary: 'Stream a batch of log, test-begin, test-end and status events (idempotent by batchId)', auth: 'apiKey', body: ingest.EventBatch, tag: 'ingest' },
  { method: 'post', path: '/api/ingest/teardown', summary: 'Finish the run: results, summary and final status (idempotent)', auth: 'apiKey', body: ingest.TeardownBody, tag: 'ingest' },
  { method: 'post', path: '/api/ingest/attachment', summary: 'Upload one attachment (raw body, ≤ 1 MB) of a test attempt; answers its key', auth: 'apiKey', tag: 'ingest' },
  { method: 'get', path: '/api/schedules', summary: 'List schedules with their next run times (?projectId)', auth: 'jwt', role: 'viewer', tag: 'schedules' },
  { method: 'get', path: '/api/schedules/next-runs', summary: 'Preview the next run times of ?cron&timezone&count', auth: 'jwt', role: 'viewer', tag: 'schedules' },
  { method: 'post', path: '/api/schedules', summary: 'Create a schedule (CRON in a time zone; 400 with the parser\'s message)', auth: 'jwt', role: 'developer', body: schedules.ScheduleCreateBody, tag: 'schedules' },
  { method: 'get', path: '/api/schedules/{id}', summary: 'A schedule', auth: 'jwt', role: 'viewer', tag: 'schedules' },
  { method: 'patch', path: '/api/schedules/{id}', summary: 'Update, enable or disable a schedule', auth: 'jwt', role: 'developer', body: schedules.ScheduleUpdateBody, tag: 'schedules' },
  { method: 'delete', path: '/api/schedules/{id}', summary: 'Delete a schedule', auth: 'jwt', role: 'developer', tag: 'schedules' },
  { method: 'get', path: '/api/usage', summary: 'Plan, limits and what the organization uses this month', auth: 'jwt', role: 'viewer', tag: 'billing' },
  { method: 'get', path: '/api/billing/plans', summary: 'The plans and their limits', auth: 'jwt', role: 'viewer', tag: 'billing' },
  { method: 'get', path: '/api/billing', summary: 'The organization\'s plan and Stripe ids', auth: 'jwt', role: 'admin', tag: 'billing' },
  { method: 'post', path: '/api/billing/checkout', summary: 'A Stripe Checkout session for a paid plan, bound to the organization (503 when Stripe is not configured)', auth: 'jwt', role: 'admin', body: billing.CheckoutBody, tag: 'billing' },
  { method: 'get', path: '/api/quarantines', summary: 'Quarantined tests by owner and expiry (?projectId&includeExpired); also with x-api-key (reporter)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'post', path: '/api/quarantines', summary: 'Quarantine a test: owner, reason, expiry (its failures stop failing runs)', auth: 'jwt', role: 'developer', body: quarantine.QuarantineCreateBody, tag: 'intelligence' },
  { method: 'patch', path: '/api/quarantines/{id}', summary: 'Change a quarantine\'s owner, reason or expiry', auth: 'jwt', role: 'developer', body: quarantine.QuarantineUpdateBody, tag: 'intelligence' },
  { method: 'delete', path: '/api/quarantines/{id}', summary: 'End a quarantine', auth: 'jwt', role: 'developer', tag: 'intelligence' },
  { method: 'get', path: '/api/agent/quarantines', summary: 'Agent: the quarantines in force for ?projectId', auth: 'agent', tag: 'agent protocol' },
  { method: 'get', path: '/api/insights/ai-status', summary: 'Whether AI analysis is on (or why not)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/insights/projects/{projectId}', summary: 'Pass rate and duration p50/p95 per day, slowest, most failing and flaky tests (?days)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/insights/projects/{projectId}/flaky', summary: 'The flakiest tests of a project with scores (?days)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/insights/fingerprints', summary: 'The most frequent failure fingerprints (?projectId&days&limit)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/insights/fingerprints/{fingerprint}', summary: 'One failure fingerprint: occurrences, first and last run, recent failures', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/insights/executions/{taskId}/failures', summary: 'A run\'s failures with their fingerprint history, and its AI analysis', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'get', path: '/api/metrics/{image}', summary: 'Performance of one Docker image (URL-encoded): pass rate, duration percentiles, recent runs (?days)', auth: 'jwt', role: 'viewer', tag: 'intelligence' },
  { method: 'post', path: '/api/webhooks/stripe', summary: 'Stripe events (Stripe-Signature verified; idempotent by event id) that change the plan: a paid checkout of a session created for the organization, subscription changes', auth: 'public', tag: 'billing' },
  { method: 'get', path: '/api/test-cases', summary: 'List and search test cases (?projectId&suite&tag&type&q&limit)', auth: 'jwt', role: 'viewer', tag: 'test management' },
  { method: 'get', path: '/api/test-cases/facets', summary: 'Suites and tags in use (?projectId)', auth: 'jwt', role: 'viewer', tag: 'test management' },
  { method: 'post', path: '/api/test-cases/generate-steps', summary: 'AI-proposed steps from a title and description (503 when AI is off)', auth: 'jwt', role: 'developer', body: testCases.GenerateStepsBody, tag: 'test management' },
  { method: 'post', path: '/api/test-cases', summary: 'Create a manual or automated test case', auth: 'jwt', role: 'developer', body: testCases.TestCaseCreateBody, tag: 'test management' },
  { method: 'get', path: '/api/test-cases/{id}', summary: 'A test case', auth: 'jwt', role: 'viewer', tag: 'test management' },
  { method: 'patch', path: '/api/test-cases/{id}', summary: 'Update a test case', auth: 'jwt', role: 'developer', body: testCases.TestCaseUpdateBody, tag: 'test management' },
  { method: 'delete', path: '/api/test-cases/{id}', summary: 'Delete a test case', auth: 'jwt', role: 'developer', tag: 'test management' },
  { method: 'get', path: '/api/test-cycles', summary: 'List cycles, newest first, external CI ones included (?projectId&source&limit)', auth: 'jwt', role: 'viewer', tag: 'test management' },
  { method: 'post', path: '/api/test-cycles', summary: 'Create a cycle from test cases (manual and automated items)', auth: 'jwt', role: 'developer', body: cycles.CycleCreateBody, tag: 'test management' },
  { method: 'get', path: '/api/test-cycles/{id}', summary: 'A cycle with its items and summary', auth: 'jwt', role: 'viewer', tag: 'test management' },
  { method: 'delete', path: '/api/test-cycles/{id}', summary: 'Delete a cycle', auth: 'jwt', role: 'developer', tag: 'test management' },
  { method: 'patch', path: '/api/test-cycles/{id}/items/{itemId}', summary: 'Mark a manual item (status, notes)', auth: 'jwt', role: 'developer', body: cycles.CycleItemUpdateBody, tag: 'test management' },
  { method: 'post', path: '/api/test-cycles/{id}/run', summary: 'Start runs for the automated items (trigger cycle)', auth: 'jwt', role: 'developer', body: cycles.CycleRunBody, tag: 'test management' },
];

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  public: [], jwt: [{ bearer: [] }], apiKey: [{ apiKey: [] }], agent: [{ agentToken: [] }],
};

const envelope = { type: 'object', properties: { success: { const: false }, error: { type: 'string' }, code: { type: 'string' } }, required: ['success', 'error', 'code'] };

export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      tags: [op.tag],
      security: SECURITY[op.auth],
      ...(op.role ? { 'x-agnox-min-role': op.role } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(op.body, { io: 'input', unrepresentable: 'any' }) } } } } : {}),
      responses: {
        '200': { description: '`{ success: true, data }`' },
        default: { description: 'Error envelope', content: { 'application/json': { schema: envelope } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Agnox API', version: '1.0.0', description: 'JSON in, JSON out. Timestamps are epoch milliseconds.' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        agentToken: { type: 'http', scheme: 'bearer', description: 'Per-agent token from /api/agent/register' },
      },
    },
    paths,
  };
}
